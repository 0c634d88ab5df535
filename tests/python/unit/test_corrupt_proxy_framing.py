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


def test_data_in_every_picks_every_nth_data_in_long_enough():
    from argparse import Namespace
    from iscsilab.faults.corrupt_proxy import Proxy
    proxy = Proxy(Namespace(pdu=None, data_in_every=2, byte=60, report="unused"))
    cut = PduCutter(header_digest=True, data_digest=True)
    cut.advance(bhs(0x23, flags=0x83))
    picked = []
    for name, header in (("in0", bhs(0x25, dlen=512)), ("nop", bhs(0x20, dlen=512)),
                         ("in1", bhs(0x25, dlen=512)), ("in2", bhs(0x25, dlen=512)),
                         ("rsp", bhs(0x21)), ("in3", bhs(0x25, dlen=512)), ("in4", bhs(0x25, dlen=4))):
        pdu = bytearray(header) + bytes(cut.length(header) - 48)
        cut.advance(header)
        if proxy.chosen(cut, pdu):
            picked.append(name)
    # Data-In 0 and 2 (every second one); Data-In 4 is too short for byte 60 (48 + 4 + 4 + 4).
    assert picked == ["in0", "in2"]


def test_drop_every_leaves_out_every_nth_pdu_of_one_opcode():
    from argparse import Namespace
    from iscsilab.faults.corrupt_proxy import Proxy
    proxy = Proxy(Namespace(pdu=None, data_in_every=None, drop_every=3, drop_opcode=0x21,
                            byte=20, report="unused"))
    cut = PduCutter(header_digest=False, data_digest=False)
    login = bhs(0x23, flags=0x83)
    assert not proxy.dropped(cut, bytearray(login))     # login PDUs are never dropped
    cut.advance(login)
    left_out = []
    for i in range(9):
        header = bhs(0x21 if i % 2 == 0 else 0x25, dlen=0)
        cut.advance(header)
        if proxy.dropped(cut, bytearray(header)):
            left_out.append(i)
        assert not proxy.chosen(cut, bytearray(header))  # dropping mode flips nothing
    # SCSI Responses are PDUs 0, 2, 4, 6, 8; every third of them: the ones at 4 (3rd).
    assert left_out == [4]


def test_drop_every_never_drops_a_copy_sent_again():
    from argparse import Namespace
    from iscsilab.faults.corrupt_proxy import Proxy
    proxy = Proxy(Namespace(pdu=None, data_in_every=None, drop_every=2, drop_opcode=0x21,
                            byte=20, report="unused"))
    cut = PduCutter(header_digest=False, data_digest=False)
    cut.advance(bhs(0x23, flags=0x83))

    def response(itt, stat_sn):
        h = bytearray(bhs(0x21, dlen=0))
        h[16:20] = itt.to_bytes(4, "big")
        h[24:28] = stat_sn.to_bytes(4, "big")
        return h

    left_out = []
    # StatSN 11 is dropped (2nd response); its copy, sent again for a Status SNACK, comes 4th
    # and goes through although every 2nd would be dropped; the 6th (StatSN 14) is dropped.
    for itt, sn in [(1, 10), (2, 11), (3, 12), (2, 11), (4, 13), (5, 14)]:
        h = response(itt, sn)
        cut.advance(h)
        if proxy.dropped(cut, h):
            left_out.append(sn)
    assert left_out == [11, 14]
