"""The guest agent's request handling and the secret masking of dumps (pure functions, no VM)."""
import json

from iscsilab.agent.guest import handle
from iscsilab.agent.protocol import decode, encode
from iscsilab.provision.lio_guest import mask


def test_round_trip_and_errors_are_replies_not_crashes():
    ops = {"add": lambda a: a["x"] + a["y"], "boom": lambda a: 1 / 0}
    assert handle(encode({"id": 1, "op": "add", "args": {"x": 2, "y": 3}}).strip(), ops) == \
        {"id": 1, "ok": True, "result": 5}
    reply = handle(encode({"id": 2, "op": "boom"}).strip(), ops)
    assert reply["id"] == 2 and not reply["ok"] and "ZeroDivisionError" in reply["error"]
    assert "unknown operation" in handle(b'{"id": 3, "op": "nope"}', ops)["error"]
    assert not handle(b"{not json", ops)["ok"]
    assert decode(encode({"a": [1]})) == {"a": [1]}


def test_error_replies_do_not_carry_arguments():
    def fail(args):
        raise ValueError("bad backstore")
    reply = handle(encode({"id": 4, "op": "f", "args": {"password": "s3cret-value-123"}}).strip(),
                   {"f": fail})
    assert "s3cret" not in json.dumps(reply)


def test_mask_hides_secrets_but_keeps_dumps_comparable():
    dump = {"targets": [{"tpgs": [{"node_acls": [{"chap_password": "pw-one-123456",
                                                   "chap_userid": "u"}]}]}],
            "fabric_modules": [{"discovery_password": "pw-two-123456", "name": "iscsi"}]}
    masked = mask(dump)
    text = json.dumps(masked)
    assert "pw-one" not in text and "pw-two" not in text and '"u"' in text
    assert mask(dump) == masked
    other = json.loads(json.dumps(dump).replace("pw-one-123456", "pw-one-654321"))
    assert mask(other) != masked
