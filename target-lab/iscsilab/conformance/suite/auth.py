"""CHAP authentication against a target that requires it (RFC 7143 sections 6.3.2, 12.1.3,
11.13.5): run with `--portal ... --chap USER:SECRET [--chap-target USER:SECRET]`; without
credentials these tests are skipped (the lab's and tgtd's default targets need none)."""
from __future__ import annotations

from ..chap import Credentials, chap_login, chap_security
from ..driver import OPERATIONAL, OPERATIONAL_DEFAULTS, SECURITY, ConformanceFailure, TargetClosed
from ..registry import case
from ..shapes import expect_initiator_error, status

AUTH_FAILURE = 0x01       # status detail of class 0x02 (section 11.13.5)


def credentials(ctx) -> Credentials:
    return ctx.target.facts["chap"]


@case("AUTH-001", "12.1.3", needs=("chap",),
      requirement="With the right CHAP secret the login goes through the security stage to the "
                  "full feature phase, and the session answers a ping")
def _(ctx):
    sess = ctx.connect()
    chap_login(sess, credentials(ctx))
    sess.nop_ping(b"after CHAP")


@case("AUTH-002", "12.1.3", needs=("chap",),
      requirement="CHAP_A offered as an unknown algorithm and MD5 (5) is answered 5, an "
                  "algorithm from the offer")
def _(ctx):
    sess = ctx.connect()
    chap_security(sess, credentials(ctx), algorithms="200,5")
    sess.login(dict(OPERATIONAL_DEFAULTS), security=False, names=False)


@case("AUTH-003", "11.13.5", needs=("chap",),
      requirement="A wrong CHAP response is refused with 0x0201 (authentication failure)")
def _(ctx):
    sess = ctx.connect()
    try:
        chap_security(sess, credentials(ctx), wrong=True)
    except ConformanceFailure:
        pass
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection without a login "
                                 "reject") from None
    rsp = sess.last_login_response
    expect_initiator_error(rsp, AUTH_FAILURE, "a wrong CHAP_R")


@case("AUTH-004", "6.3.2", needs=("chap",),
      requirement="A target that requires CHAP does not let a login that offers only "
                  "AuthMethod=None leave the security stage: the login is refused (0x0201)")
def _(ctx):
    sess = ctx.connect()
    rsp = sess.login_exchange(dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                              nsg=OPERATIONAL)
    if rsp["status_class"] == 0:
        if rsp["transit"] and rsp["nsg"] != SECURITY:
            raise ConformanceFailure("the target let AuthMethod=None through to the "
                                     "operational stage")
        return
    expect_initiator_error(rsp, AUTH_FAILURE, "AuthMethod=None to a target that needs CHAP")


@case("AUTH-005", "12.1.3", needs=("chap",), level="SHOULD",
      requirement="With mutual CHAP (--chap-target) the target answers the initiator's "
                  "challenge with a CHAP_N and CHAP_R that verify with the target secret")
def _(ctx):
    creds = credentials(ctx)
    if not creds.mutual:
        ctx.skip("no --chap-target credentials: mutual CHAP not asked for")
    sess = ctx.connect()
    chap_login(sess, creds)   # checks the target's CHAP_R
    sess.nop_ping(b"after mutual CHAP")
