/** The tests' throwaway certificates: the same maker as `kstack certs` (src/security/certs.ts). */
export {
  issueClientCertificate,
  makeCertificates,
  type TestCertificates,
} from '../../src/security/certs.ts';
