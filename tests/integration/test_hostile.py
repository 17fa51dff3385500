"""Hostile input through the HTTP front (issue: prove it survives).

A table of requests an attacker, a broken aggregator or a fuzzer would send:
oversized and truncated bodies, wrong methods and content types, invalid
UTF-8, NUL and control bytes, missing and duplicated fields, 10 000-character
inputs, '*'-storms, unknown sessions, replayed Twilio signatures, path
traversal, header floods. Each must get a clear 4xx (or, where the request
is well-formed, a normal screen), never crash hotlined, and a refused
request must change nothing in Redis.

Requests are written byte for byte on a raw socket, so nothing is
"corrected" by an HTTP library on the way.
"""
import json
import os
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import RedisServer, Hotlined, get, eq, contains, run  # noqa: E402
from test_gateway import twilio_sign  # noqa: E402

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
AT = "/ussd/africastalking"


def raw(port, data, timeout=5.0, shut=False):
    """Sends bytes; returns (status, body) or (None, 'closed') when the
    server closed the connection without an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                n = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        n = int(v.strip())
                if len(rest) >= n:
                    break
    except ConnectionResetError:
        return None, "closed"
    finally:
        s.close()
    if not buf.startswith(b"HTTP/1."):
        return None, "closed"
    status = int(buf.split(b" ", 2)[1])
    return status, buf.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def http(method, path, body=b"", ctype=FORM, extra=b"", length=None):
    if isinstance(body, str):
        body = body.encode()
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    head += "Content-Length: %d\r\n" % (len(body) if length is None else length)
    return head.encode() + extra + b"\r\n" + body


def at_body(text="", session="H1", phone="%2B84900000001", extra=""):
    return ("sessionId=%s&serviceCode=%%2A384%%2A123%%23&phoneNumber=%s"
            "&networkCode=45204&text=%s%s" % (session, phone, text, extra))


def hubtel(**over):
    d = {"SessionId": "hub-h", "Mobile": "233200000001", "ServiceCode": "714",
         "Type": "Initiation", "Message": "*714#", "Operator": "mtn",
         "ClientState": "", "Sequence": 1}
    d.update(over)
    return json.dumps(d)


def twilio_form(params):
    return urllib.parse.urlencode(params)


def twilio_params(body="HELP", sid="SMh1"):
    return {"MessageSid": sid, "AccountSid": "AC1", "From": "+84900000002",
            "To": "+15005550006", "Body": body, "NumMedia": "0"}


# (name, request bytes or a function of the port, allowed statuses)
REFUSED = "refused"        # a 4xx, or the connection closed without an answer

def refusal_cases(port):
    tw_url = "http://127.0.0.1:%d/sms/twilio" % port
    p = twilio_params()
    good_sig = twilio_sign(tw_url, p)
    other = twilio_params(body="STOP")
    flood = b"".join(b"X-Flood-%d: %s\r\n" % (i, b"a" * 40) for i in range(400))
    return [
        ("GET on a POST channel", http("GET", AT, ctype=None), {405}),
        ("PUT on a channel", http("PUT", AT, at_body()), {405}),
        ("DELETE on a channel", http("DELETE", AT, ctype=None), {405}),
        ("unknown method", b"BREW " + AT.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 405, 501}),
        ("JSON to a form channel", http("POST", AT, "{}", ctype=JSON), {415}),
        ("no content type", http("POST", AT, at_body(), ctype=None), {415}),
        ("text/plain to hubtel", http("POST", "/ussd/hubtel", hubtel(), ctype="text/plain"), {415}),
        ("form to a JSON channel", http("POST", "/ussd/nalo", at_body(), ctype=FORM), {415}),
        ("body over max_body", http("POST", AT, "a=" + "x" * 20000), {413}),
        ("chunked body over max_body", (
            "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n4e20\r\n%s\r\n0\r\n\r\n" % (AT, FORM, "x" * 20000)).encode(), {413}),
        ("garbage Content-Length", http("POST", AT, at_body(), length=None).replace(
            b"Content-Length: ", b"Content-Length: -5", 1), REFUSED),
        ("invalid UTF-8 %FF", http("POST", AT, at_body("%FF")), {400}),
        ("overlong UTF-8 %C0%AF", http("POST", AT, at_body("%C0%AF")), {400}),
        ("surrogate UTF-8 %ED%A0%80", http("POST", AT, at_body("%ED%A0%80")), {400}),
        ("NUL escaped in a field", http("POST", AT, at_body("1%002")), {400}),
        ("control character %01", http("POST", AT, at_body("%01")), {400}),
        ("escape ESC in a phone number", http("POST", AT, at_body(phone="%1B%5B2J")), {400}),
        ("raw NUL byte in the body", http("POST", AT, at_body().encode() + b"\x00"), {400}),
        ("malformed percent escape", http("POST", AT, at_body("%G1")), {400}),
        ("missing sessionId", http("POST", AT, at_body().replace("sessionId=H1&", "")), {400}),
        ("missing phoneNumber", http("POST", AT, "sessionId=H1&serviceCode=1&text="), {400}),
        ("duplicated sessionId", http("POST", AT, at_body(extra="&sessionId=H2")), {400}),
        ("duplicated text", http("POST", AT, at_body("1", extra="&text=2")), {400}),
        ("10 000-character AT text", http("POST", AT, at_body("1" * 10000)), {400}),
        ("10 000-character Hubtel message", http("POST", "/ussd/hubtel", hubtel(Message="x" * 10000), ctype=JSON), {400}),
        ("JSON array, not an object", http("POST", "/ussd/hubtel", "[1,2]", ctype=JSON), {400}),
        ("truncated JSON", http("POST", "/ussd/hubtel", '{"SessionId": "a", "Mob', ctype=JSON), {400}),
        ("JSON field of the wrong type", http("POST", "/ussd/hubtel", hubtel(Mobile=12345), ctype=JSON), {400}),
        ("Nalo MSGTYPE as a string", http("POST", "/ussd/nalo", json.dumps({
            "USERID": "u", "MSISDN": "233200000001", "USERDATA": "1",
            "MSGTYPE": "yes", "NETWORK": "MTN"}), ctype=JSON), {400}),
        ("Arkesel without msisdn", http("POST", "/ussd/arkesel", json.dumps({
            "sessionID": "s", "userID": "u", "newSession": True, "userData": "",
            "network": "MTN"}), ctype=JSON), {400}),
        ("Twilio without signature", http("POST", "/sms/twilio", twilio_form(p)), {403}),
        ("Twilio signature replayed on another body",
         http("POST", "/sms/twilio", twilio_form(other),
              extra=b"X-Twilio-Signature: " + good_sig.encode() + b"\r\n"), {403}),
        ("Twilio signature for another URL",
         http("POST", "/sms/twilio", twilio_form(p), extra=b"X-Twilio-Signature: " +
              twilio_sign("http://127.0.0.1:%d/sms/kannel" % port, p).encode() + b"\r\n"), {403}),
        ("Twilio PROTOCOLS.md vector on our URL",
         http("POST", "/sms/twilio", twilio_form(p),
              extra=b"X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=\r\n"), {403}),
        ("Kannel text with a bell character", http("GET", "/sms/kannel?from=%2B84900000003&to=1234&text=HELP%07&id=h1", ctype=None), {400}),
        ("Kannel text of 10 000 characters", http("GET", "/sms/kannel?from=%2B84900000003&to=1234&id=h2&text=" + "A" * 10000, ctype=None), REFUSED),
        ("path traversal to an endpoint", http("POST", "/ussd/../metrics", at_body()), {404}),
        ("path traversal between channels", http("POST", "/ussd/africastalking/../hubtel", hubtel(), ctype=JSON), {404}),
        ("encoded traversal", http("POST", "/ussd/africastalking%2F..%2Fhubtel", at_body()), {404}),
        ("unknown path", http("POST", "/admin", at_body()), {404}),
        ("header flood", http("POST", AT, at_body(), extra=flood), REFUSED),
        ("one giant header", http("POST", AT, at_body(), extra=b"X-Big: " + b"b" * 12000 + b"\r\n"), REFUSED),
        ("truncated body, client gone", lambda port: raw(port, http("POST", AT, at_body(), length=400), timeout=3, shut=True), REFUSED),
    ]


def screen_cases():
    """Well-formed but odd: answered with a normal screen."""
    return [
        ("'*'-storm of 3000 stars", at_body("%2A" * 3000, session="S1"), "CON "),
        # 1, 1, "1*1" (the location: "1" alone is too short), 1, 1, 1 is a
        # real walk down the help path: the request is filed, and the
        # 1495 inputs after the end change nothing.
        ("'*'-storm of 1500 '1*'", at_body("1%2A" * 1500, session="S2"), "END Da gui. Ma so cua ban: "),
        ("unknown session mid-walk (history replay)", at_body("2%2A1%2AHanoi", session="S3"), "CON Are you in danger"),
        ("keys beyond the menu", at_body("9%2A9%2A9", session="S4"), "CON Sai. Hay thu lai.\nChon ngon ngu"),
        ("a nav key on the first screen", at_body("0", session="S5"), "CON Sai. Hay thu lai.\nChon ngon ngu"),
    ]


def test_hostile_table(tmp):
    redis = RedisServer(tmp)
    hl = Hotlined(tmp, redis.port)
    hl.wait_ready()
    r = redis.client()
    bad = []
    cases = refusal_cases(hl.port)
    for name, req, want in cases:
        if callable(req):
            st, body = req(hl.port)
        else:
            st, body = raw(hl.port, req)
        ok = (st is None or 400 <= st < 500) if want == REFUSED else st in want
        print("  %-45s -> %s" % (name, st if st is not None else "closed"))
        if not ok:
            bad.append("%s: got %s %r, want %s" % (name, st, body[:80], want))
        if get(hl.url("/healthz"))[0] != 200:
            bad.append("%s: hotlined stopped answering" % name)
            break
    eq(bad, [], "refused requests answered as specified")
    eq(r.scan_all("hl:s:*"), [], "no session from any refused request")
    eq(r("EXISTS", "hl:q:urgent"), 0, "no help request from any refused request")
    n = len(cases)
    for name, body, want in screen_cases():
        st, text = raw(hl.port, http("POST", AT, body))
        print("  %-45s -> %s %s" % (name, st, text.split("\n")[0][:40]))
        eq(st, 200, name)
        assert text.startswith(want), "%s: %r" % (name, text[:120])
        n += 1
    eq(len(r.xrange("hl:q:urgent")), 1, "only the genuine walk filed a request")
    assert n >= 30, n
    eq(hl.proc.poll(), None, "hotlined still running")
    eq(get(hl.url("/readyz"))[0], 200, "still ready after %d hostile requests" % n)
    log = hl.log()
    for number in ("84900000001", "84900000002", "84900000003"):
        assert number not in log, "a phone number reached the log"


if __name__ == "__main__":
    run([("hostile_table", test_hostile_table)])
