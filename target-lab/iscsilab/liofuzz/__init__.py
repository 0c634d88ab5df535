"""The LIO network fuzzer (issue 15, fuzz/lio/README.md): cases as programs of PDU steps
(program), built by a state-aware generator (generator, mutators), run over TCP (executor),
judged by detectors (detect), minimized (minimize) and driven against a lab that is rebooted
after a crash (campaign); `iscsilab fuzz lio|replay` (commands)."""
