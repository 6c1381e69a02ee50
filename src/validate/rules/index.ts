/** Every rule, in the order reports list them. */
import { dnsOnlyRule, hostPortsRule, profileRule } from './network.ts';
import type { Rule } from './rule.ts';
import { conventionsRule, dependsOnRule, healthcheckRule, resourcesRule, settingsRule } from './services.ts';
import { baselineTopicsRule } from './topics.ts';
import { brokersRule, clusterIdRule, listenersRule, nodeIdsRule, replicationRule } from './topology.ts';
import { variablesRule } from './variables.ts';

export const RULES: readonly Rule[] = [
  profileRule,
  brokersRule,
  dnsOnlyRule,
  nodeIdsRule,
  listenersRule,
  clusterIdRule,
  replicationRule,
  settingsRule,
  hostPortsRule,
  healthcheckRule,
  resourcesRule,
  dependsOnRule,
  baselineTopicsRule,
  variablesRule,
  conventionsRule,
];
