"""The corrupting proxy's PDU framing (no VM): login PDUs carry no digests, later ones do."""
from iscsilab.faults.corrupt_proxy import PduCutter


def bhs(opcode: int, flags: int = 0, ahs_words: int = 0, dlen: int = 0) -> bytes:
    header = bytearray(48)
    header[0], header[1], header[4] = opcode, flags, ahs_words
    header[5:8] = dlen.to_bytes(3, "big")
    return bytes(header)


def test_login_then_full_feature_phase_lengths():
    cut = PduCutter(header_digest=True, data_digest=True)
    login1 = bhs(0x23, flags=0x81, dlen=5)           # T=1, CSG 0 -> NSG 1
    assert cut.length(login1) == 48 + 8              # padded to 4, no digests yet
    cut.advance(login1)
    assert not cut.logged_in
    final = bhs(0x23, flags=0x87, dlen=0)            # T=1, CSG 1 -> NSG 3 (full feature)
    assert cut.length(final) == 48
    cut.advance(final)
    assert cut.logged_in and cut.ffp_index == -1
    data_in = bhs(0x25, dlen=36)
    assert cut.length(data_in) == 48 + 4 + 36 + 4    # header digest, data, data digest
    cut.advance(data_in)
    assert cut.ffp_index == 0
    nop = bhs(0x20, ahs_words=1)
    assert cut.length(nop) == 48 + 4 + 4             # AHS, header digest, no data digest


def test_without_digests_only_padding_counts():
    cut = PduCutter(header_digest=False, data_digest=False)
    cut.advance(bhs(0x23, flags=0x83))
    assert cut.logged_in
    assert cut.length(bhs(0x25, dlen=1)) == 52
