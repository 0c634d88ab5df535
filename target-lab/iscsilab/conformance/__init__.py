"""RFC 7143 target conformance: a raw-connection driver on proto's codec (driver), the test
catalogue (registry, suite/), the runner with expected-failure lists and JUnit (runner), and the
`iscsilab conformance` commands (commands). conformance/README.md has the coverage matrix."""
