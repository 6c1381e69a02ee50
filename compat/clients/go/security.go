package main

// The security profile's client side (compat/runner/client-security.ts): KSTACK_COMPAT_SECURITY
// holds JSON {protocol, mechanism?, username?, password?, caFile?}; unset or empty means PLAINTEXT.
// SSL and SASL_SSL dial TLS trusting caFile; SASL_PLAINTEXT and SASL_SSL log in with PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const securityEnv = "KSTACK_COMPAT_SECURITY"

// dialTimeout bounds one TLS connection attempt (franz-go's own default dial timeout).
const dialTimeout = 10 * time.Second

type clientSecurity struct {
	Protocol  string `json:"protocol"`
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	CAFile    string `json:"caFile"`
}

// unsecuredTokenLifetime is how long the OAUTHBEARER token lives (an hour, as librdkafka's default).
const unsecuredTokenLifetime = time.Hour

// unsecuredJws is an unsecured JWS (alg none, no signature) naming subject: local testing only.
func unsecuredJws(subject string) string {
	part := func(value any) string {
		encoded, _ := json.Marshal(value)
		return base64.RawURLEncoding.EncodeToString(encoded)
	}
	now := time.Now().Unix()
	claims := map[string]any{"sub": subject, "iat": now, "exp": now + int64(unsecuredTokenLifetime.Seconds())}
	return part(map[string]string{"alg": "none"}) + "." + part(claims) + "."
}

// securityOptions are the kgo options for the settings in the environment (none for PLAINTEXT).
func securityOptions() ([]kgo.Opt, error) {
	raw := os.Getenv(securityEnv)
	if raw == "" {
		return nil, nil
	}
	var security clientSecurity
	if err := json.Unmarshal([]byte(raw), &security); err != nil {
		return nil, fmt.Errorf("%s: %w", securityEnv, err)
	}
	var options []kgo.Opt
	switch security.Protocol {
	case "SSL", "SASL_SSL":
		config := &tls.Config{MinVersion: tls.VersionTLS12}
		if security.CAFile != "" {
			pem, err := os.ReadFile(security.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%s caFile: %w", securityEnv, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s caFile %s holds no PEM certificate", securityEnv, security.CAFile)
			}
			config.RootCAs = pool
		}
		options = append(options, kgo.DialTLSConfig(config), kgo.DialTimeout(dialTimeout))
	case "SASL_PLAINTEXT", "PLAINTEXT":
	default:
		return nil, fmt.Errorf("%s: unknown protocol %q", securityEnv, security.Protocol)
	}
	if security.Protocol == "SASL_PLAINTEXT" || security.Protocol == "SASL_SSL" {
		switch security.Mechanism {
		case "PLAIN":
			options = append(options, kgo.SASL(plain.Auth{User: security.Username, Pass: security.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			options = append(options, kgo.SASL(scram.Auth{User: security.Username, Pass: security.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			options = append(options, kgo.SASL(scram.Auth{User: security.Username, Pass: security.Password}.AsSha512Mechanism()))
		case "OAUTHBEARER":
			// An unsecured JWS for the principal, which Kafka's default validator takes.
			options = append(options, kgo.SASL(oauth.Auth{Token: unsecuredJws(security.Username)}.AsMechanism()))
		default:
			return nil, fmt.Errorf("%s: unknown SASL mechanism %q", securityEnv, security.Mechanism)
		}
	}
	return options, nil
}
