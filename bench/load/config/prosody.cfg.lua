-- Prosody under the load benchmark (bench/load/run.ts fills the {{...}} values).
-- Loopback only; direct TLS c2s and plain-HTTP BOSH on the ports every server gets; no
-- mod_limits (no rate limits); SCRAM-SHA-1 with 4096 iterations for new accounts; in-band
-- registration open (loopback is on mod_register_limits' default whitelist), so the bench
-- accounts are created by Prosody itself.

run_as_root = true
daemonize = false
pidfile = "{{DATA_DIR}}/prosody.pid"
data_path = "{{DATA_DIR}}"
log = { { levels = { min = "warn" }, to = "console" } }
network_backend = "epoll"
-- Listen backlog as Meerkat's and ejabberd's here (its default is 128).
network_settings = { tcp_backlog = 4096 }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { }
s2s_ports = { }
component_ports = { }
c2s_direct_tls_ports = { {{C2S_PORT}} }
http_ports = { {{BOSH_PORT}} }
http_interfaces = { "127.0.0.1" }
https_ports = { }

ssl = { certificate = "{{CERT_FILE}}", key = "{{KEY_FILE}}" }
c2s_direct_tls_ssl = { certificate = "{{CERT_FILE}}", key = "{{KEY_FILE}}" }

modules_enabled = {
  "roster"; "saslauth"; "tls"; "disco"; "ping"; "register"; "bosh";
}
modules_disabled = { "s2s" }

authentication = "internal_hashed"
default_iteration_count = 4096
storage = "internal"
allow_registration = true
min_seconds_between_registrations = 0
-- BOSH here is plain HTTP on loopback: let SASL run over it.
consider_bosh_secure = true
c2s_require_encryption = false

VirtualHost "localhost"
