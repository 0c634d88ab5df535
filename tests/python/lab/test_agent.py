"""The guest agent's channel: replies larger than a virtio-serial write must arrive whole."""


def test_large_reply_arrives_whole(lab):
    for size in (65_000, 70_000, 1_000_000):
        res = lab.agent.call("run", argv=["sh", "-c", f"head -c {size} /dev/zero | tr '\\0' a"],
                             timeout=60)
        assert res["rc"] == 0 and res["stdout"] == "a" * size, (size, len(res["stdout"]))
