"""A TCP proxy that flips one byte on the path between initiator and target, on purpose.

Run inside the lab's namespace (the lab starts it): the initiator connects to the proxy, the
proxy connects to the LIO portal. Two ways to pick the byte, per connection and per direction:
  --after-bytes N         the byte at stream offset N (0-based)
  --pdu K --byte B        byte B of the K-th PDU after login (0-based): iSCSI-aware, so a
                          header digest error lands exactly in a header, whatever the login
                          length was. --header-digest/--data-digest say what was negotiated.
  --data-in-every N --byte B
                          byte B of every N-th Data-In PDU after login that is long enough (B
                          past the header and its digest: a data digest error that leaves the
                          stream in step, what ERL 1 recovers from with a Data SNACK).
  --drop-every N --drop-opcode OP
                          leaves out every N-th PDU of opcode OP after login (0x21 SCSI Response,
                          0x25 Data-In, 0x31 R2T): a PDU lost with the stream still in step, as
                          when a receiver discards a PDU, what ERL 1's SNACKs ask for again.
A JSON report (connections, bytes per direction, what was flipped) is rewritten atomically after
every change, so tests can see what happened.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import threading

BHS = 48
LOGIN_OPCODES = (0x03, 0x23)
DATA_IN = 0x25


class PduCutter:
    """Splits a one-way iSCSI byte stream into PDUs (login PDUs carry no digests)."""

    def __init__(self, header_digest: bool, data_digest: bool):
        self.header_digest = header_digest
        self.data_digest = data_digest
        self.logged_in = False
        self.ffp_index = -1   # index of the current full-feature-phase PDU
        self.data_in_index = -1   # index of the current Data-In PDU (full feature phase)
        self.opcode_index: dict[int, int] = {}   # index of the current PDU of each opcode
        self.left_out: set[bytes] = set()   # PDUs dropped, by identity (see Proxy.dropped)

    def length(self, header: bytes) -> int:
        ahs = header[4] * 4
        dlen = int.from_bytes(header[5:8], "big")
        total = BHS + ahs + (dlen + 3) // 4 * 4
        if self.logged_in:
            total += 4 if self.header_digest else 0
            total += 4 if self.data_digest and dlen else 0
        return total

    def advance(self, header: bytes) -> None:
        """Called once per PDU, after length(): tracks the end of the login phase."""
        if self.logged_in:
            self.ffp_index += 1
            if header[0] & 0x3F == DATA_IN:
                self.data_in_index += 1
            opcode = header[0] & 0x3F
            self.opcode_index[opcode] = self.opcode_index.get(opcode, -1) + 1
            return
        opcode, flags = header[0] & 0x3F, header[1]
        if opcode in LOGIN_OPCODES and flags & 0x80 and flags & 0x03 == 3:
            self.logged_in = True


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.report = {"connections": 0, "flipped": [], "dropped": [],
                       "bytes": {"to_target": 0, "to_initiator": 0}}

    def save(self) -> None:
        tmp = self.args.report + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.report, f)
        os.replace(tmp, self.args.report)

    def serve(self) -> None:
        host, port = self.args.listen.rsplit(":", 1)
        server = socket.create_server((host, int(port)), reuse_port=False)
        self.save()
        while True:
            client, _ = server.accept()
            with self.lock:
                self.report["connections"] += 1
                conn_no = self.report["connections"]
                self.save()
            thost, tport = self.args.connect.rsplit(":", 1)
            try:
                upstream = socket.create_connection((thost, int(tport)), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            active = self.args.connection in (0, conn_no)
            for src, dst, direction in ((client, upstream, "to_target"), (upstream, client, "to_initiator")):
                corrupt = active and direction == self.args.direction
                threading.Thread(target=self.pump, args=(src, dst, direction, corrupt, conn_no),
                                 daemon=True).start()

    def pump(self, src, dst, direction: str, corrupt: bool, conn_no: int) -> None:
        offset = 0
        pending = bytearray()
        cutter = PduCutter(self.args.header_digest, self.args.data_digest)
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                data = bytearray(chunk)
                if corrupt and self.args.after_bytes is not None:
                    at = self.args.after_bytes - offset
                    if 0 <= at < len(data):
                        self.flip(data, at, direction, conn_no, offset + at)
                    offset += len(data)
                    dst.sendall(data)
                elif corrupt and (self.args.pdu is not None or self.args.data_in_every
                                  or self.args.drop_every):
                    pending += data
                    while len(pending) >= BHS:
                        size = cutter.length(pending)
                        if len(pending) < size:
                            break
                        pdu = pending[:size]
                        del pending[:size]
                        cutter.advance(pdu)
                        if self.dropped(cutter, pdu):
                            self.note_drop(pdu, direction, conn_no, offset)
                            offset += size
                            continue
                        if self.chosen(cutter, pdu):
                            self.flip(pdu, self.args.byte, direction, conn_no, offset + self.args.byte)
                        offset += size
                        dst.sendall(pdu)
                else:
                    offset += len(data)
                    dst.sendall(data)
                with self.lock:
                    self.report["bytes"][direction] += len(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self.lock:
                self.save()

    def dropped(self, cutter: PduCutter, pdu: bytearray) -> bool:
        """Whether the PDU just cut is left out. A PDU is lost once: a copy the target sends
        again (same opcode, ITT, StatSN and DataSN/R2TSN, in answer to a SNACK) goes through,
        so that the run models lost PDUs and not a path that loses the same one for ever."""
        opcode = pdu[0] & 0x3F
        if not (getattr(self.args, "drop_every", None) and cutter.logged_in
                and opcode == self.args.drop_opcode
                and cutter.opcode_index[opcode] % self.args.drop_every == self.args.drop_every - 1):
            return False
        identity = bytes(pdu[0:1] + pdu[16:20] + pdu[24:28] + pdu[36:40])
        if identity in cutter.left_out:
            return False
        cutter.left_out.add(identity)
        return True

    def note_drop(self, pdu: bytearray, direction: str, conn_no: int, stream_offset: int) -> None:
        with self.lock:
            self.report["dropped"].append({"connection": conn_no, "direction": direction,
                                           "offset": stream_offset, "opcode": pdu[0] & 0x3F,
                                           "itt": pdu[16:20].hex()})
            self.save()

    def chosen(self, cutter: PduCutter, pdu: bytearray) -> bool:
        """Whether the PDU just cut gets the flip."""
        if not cutter.logged_in or getattr(self.args, "drop_every", None):
            return False
        if self.args.data_in_every:
            return (pdu[0] & 0x3F == DATA_IN and self.args.byte < len(pdu)
                    and cutter.data_in_index % self.args.data_in_every == 0)
        return cutter.ffp_index == self.args.pdu

    def flip(self, data: bytearray, at: int, direction: str, conn_no: int, stream_offset: int) -> None:
        data[at] ^= self.args.xor
        with self.lock:
            self.report["flipped"].append({"connection": conn_no, "direction": direction,
                                           "offset": stream_offset})
            self.save()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, help="ip:port to accept initiators on")
    p.add_argument("--connect", required=True, help="ip:port of the LIO portal")
    p.add_argument("--direction", choices=("to_target", "to_initiator"), default="to_initiator")
    p.add_argument("--after-bytes", type=int)
    p.add_argument("--pdu", type=int)
    p.add_argument("--data-in-every", type=int, help="every N-th Data-In PDU (N >= 1)")
    p.add_argument("--drop-every", type=int, help="leave out every N-th PDU of --drop-opcode")
    p.add_argument("--drop-opcode", type=lambda s: int(s, 0), help="0x21, 0x25, 0x31, ...")
    p.add_argument("--byte", type=int, default=20)
    p.add_argument("--xor", type=lambda s: int(s, 0), default=0x01)
    p.add_argument("--header-digest", action="store_true")
    p.add_argument("--data-digest", action="store_true")
    p.add_argument("--connection", type=int, default=0, help="only the n-th connection (1-based); 0: all")
    p.add_argument("--report", required=True)
    args = p.parse_args()
    modes = [args.after_bytes, args.pdu, args.data_in_every, args.drop_every]
    if sum(m is not None for m in modes) != 1:
        p.error("give exactly one of --after-bytes, --pdu, --data-in-every and --drop-every")
    if (args.drop_every is None) != (args.drop_opcode is None):
        p.error("--drop-every and --drop-opcode go together")
    if args.drop_every is not None and args.drop_every < 1:
        p.error("--drop-every: N >= 1")
    if args.data_in_every is not None and args.data_in_every < 1:
        p.error("--data-in-every: N >= 1")
    Proxy(args).serve()


if __name__ == "__main__":
    main()
