"""A bounded loopback load client for fault tests: threads walking Africa's
Talking help sessions against hotlined, recording every answer.

Every walk is the shipped menu's English help path; its last screen carries
the reference the caller was told. Bounded twice: by `max_walks` and by
`seconds`; each request has a timeout.
"""
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

REF_RE = re.compile(r"reference is ([346789ABCDEFGHJKMNPQRTWXY]{6})")
STEPS = ["", "2", "2*1", "2*1*Hanoi", "2*1*Hanoi*1", "2*1*Hanoi*1*2"]


class Load:
    def __init__(self, url_fn, threads=4, seconds=10.0, max_walks=5000,
                 timeout=5.0, prefix="L", pause=0.0):
        self.url_fn = url_fn          # () -> URL: may change on restarts
        self.threads = threads
        self.seconds = seconds
        self.max_walks = max_walks
        self.timeout = timeout
        self.prefix = prefix
        self.pause = pause            # seconds each thread rests between walks
        self.lock = threading.Lock()
        self.latencies = []           # seconds, answered requests
        self.statuses = {}            # status -> count; 0 = no answer
        self.refs = []                # references callers were told
        self.told = []                # (session, reference) of each
        self.walks = 0
        self.stop_flag = threading.Event()
        self.workers = []

    @staticmethod
    def phone(session):
        """The caller's number of a session (stable within this process)."""
        return "+8490%07d" % (hash(session) % 10000000)

    def _post(self, session, text):
        body = urllib.parse.urlencode({
            "sessionId": session, "serviceCode": "*384*123#",
            "phoneNumber": self.phone(session),
            "networkCode": "45204", "text": text}).encode()
        req = urllib.request.Request(
            self.url_fn(), data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        t0 = time.time()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                out = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            out = e.code, ""
        except OSError:
            out = 0, ""
        dt = time.time() - t0
        with self.lock:
            self.statuses[out[0]] = self.statuses.get(out[0], 0) + 1
            if out[0]:
                self.latencies.append(dt)
        return out

    def _worker(self, n):
        end = time.time() + self.seconds
        k = 0
        while time.time() < end and not self.stop_flag.is_set():
            with self.lock:
                if self.walks >= self.max_walks:
                    return
                self.walks += 1
            session = "%s-%d-%d" % (self.prefix, n, k)
            k += 1
            last = (0, "")
            for text in STEPS:
                last = self._post(session, text)
            m = REF_RE.search(last[1]) if last[0] == 200 else None
            if m:
                with self.lock:
                    self.refs.append(m.group(1))
                    self.told.append((session, m.group(1)))
            if self.pause:
                self.stop_flag.wait(self.pause)

    def start(self):
        for n in range(self.threads):
            t = threading.Thread(target=self._worker, args=(n,), daemon=True)
            t.start()
            self.workers.append(t)
        return self

    def join(self):
        for t in self.workers:
            t.join(self.seconds + 30)

    def stop(self):
        self.stop_flag.set()
        self.join()

    def summary(self):
        lat = sorted(self.latencies)

        def pct(p):
            return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0
        return {"walks": self.walks, "requests": sum(self.statuses.values()),
                "statuses": dict(self.statuses), "p50": pct(0.5),
                "p99": pct(0.99), "max": lat[-1] if lat else 0.0,
                "told_sent": len(self.refs)}
