/**
 * The kstack UI page: Preact components, one per page, and a hash router (#/topics/NAME…), so the
 * server serves one index.html and the page works offline with nothing from another origin.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ChartsPage } from './charts.tsx';
import { BrokerPage, ClusterPage } from './cluster.tsx';
import { ConnectorPage, ConnectPage } from './connect.tsx';
import { FaultsPage } from './faults.tsx';
import { GroupPage, GroupsPage } from './groups.tsx';
import { SchemasPage, SubjectPage } from './schemas.tsx';
import { TopicPage, TopicsPage } from './topics.tsx';

function currentRoute(): string[] {
  return location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part));
}

const SECTIONS = [
  { path: '', title: 'Cluster' },
  { path: 'topics', title: 'Topics' },
  { path: 'groups', title: 'Consumer groups' },
  { path: 'charts', title: 'Charts' },
  { path: 'schemas', title: 'Schemas' },
  { path: 'connect', title: 'Connect' },
  { path: 'faults', title: 'Faults' },
];

/**
 * The page of a route; pages of one kind are keyed by their name, so that moving from one topic
 * (group, subject, connector, broker) to another starts a fresh page instead of keeping the last
 * one's state (its live tail, forms and answers).
 */
function Page({ route }: { route: string[] }) {
  const [section, name] = route;
  if (section === 'brokers' && name !== undefined) return <BrokerPage key={name} id={name} />;
  if (section === 'topics' && name !== undefined) return <TopicPage key={name} name={name} />;
  if (section === 'topics') return <TopicsPage />;
  if (section === 'groups' && name !== undefined) return <GroupPage key={name} id={name} />;
  if (section === 'groups') return <GroupsPage />;
  if (section === 'schemas' && name !== undefined) return <SubjectPage key={name} subject={name} />;
  if (section === 'schemas') return <SchemasPage />;
  if (section === 'connect' && name !== undefined) return <ConnectorPage key={name} name={name} />;
  if (section === 'connect') return <ConnectPage />;
  if (section === 'faults') return <FaultsPage />;
  if (section === 'charts') return <ChartsPage />;
  return <ClusterPage />;
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const section = route[0] ?? '';
  useEffect(() => {
    const title = SECTIONS.find((s) => s.path === section)?.title ?? 'Cluster';
    document.title = `${route[1] ?? title} · kstack UI`;
  }, [route]);
  return (
    <div class="layout">
      <nav class="side" aria-label="Sections">
        <p class="brand">kstack UI</p>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.path}>
              <a href={`#/${s.path}`} aria-current={section === s.path ? 'page' : undefined}>
                {s.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <Page route={route} />
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
