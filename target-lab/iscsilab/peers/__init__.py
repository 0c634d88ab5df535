"""Peers that talk to the lab from its namespace (libiscsi tools) with secrets kept off argv."""
