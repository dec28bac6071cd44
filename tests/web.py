#!/usr/bin/env python3
"""web.py - TLS, mTLS and basic auth on /metrics (--web.config.file), and the
HTTP limits: slow clients, oversized requests, clients scraping as fast as
they can while ingestion runs at full speed.

Uses curl for the TLS checks (as a Prometheus server would connect) and the
real openssl to make the certificates.  Prints one line per check and
"web: N passed, M failed".
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tailing as T   # noqa: E402

OUT = os.path.join(T.HERE, "out", "web")
check = T.check                 # one tally for every scenario here


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1, a client certificate from
    the CA and a rogue self-signed client certificate."""
    os.makedirs(d)
    j = lambda n: os.path.join(d, n)  # noqa: E731
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
       "2", "-subj", "/CN=gwlog test CA", "-keyout", j("ca.key"), "-out",
       j("ca.crt"))
    with open(j("san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "prometheus")):
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
           "/CN=" + cn, "-keyout", j(name + ".key"), "-out", j(name + ".csr"))
        args = ["openssl", "x509", "-req", "-in", j(name + ".csr"), "-CA",
                j("ca.crt"), "-CAkey", j("ca.key"), "-CAcreateserial",
                "-days", "2", "-out", j(name + ".crt")]
        if name == "server":
            args += ["-extfile", j("san.cnf")]
        sh(*args)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
       "2", "-subj", "/CN=rogue", "-keyout", j("rogue.key"), "-out",
       j("rogue.crt"))


def bcrypt(password):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))
    return "$2y$" + h[4:]                  # the spelling htpasswd writes


def start(d, web_text, extra=()):
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write(web_text)
    log = os.path.join(d, "a.log")
    if not os.path.exists(log):
        with open(log, "wb") as f:
            f.writelines(T.pool(d, 20, 41))
    ex = T.Exporter(d, [log], name="web%d" % len(os.listdir(d)))
    ex.stop()
    ex.args += ["--web.config.file=" + web] + list(extra)
    ex.start()
    return ex


def curl(url, *args):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                        "%{http_code}", "--max-time", "10", *args, url],
                       capture_output=True, text=True)
    return r.returncode, r.stdout.strip()


def tls_tests(d, certs):
    c = lambda n: os.path.join(certs, n)  # noqa: E731
    ex = start(d, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
               % (c("server.crt"), c("server.key")))
    url = "https://127.0.0.1:%d/metrics" % ex.port
    rc, code = curl(url, "--cacert", c("ca.crt"))
    check("TLS: curl --cacert gets 200", rc == 0 and code == "200",
          "curl rc %d, HTTP %s" % (rc, code))
    rc, code = curl(url)
    check("TLS: an untrusted server certificate is refused by curl", rc != 0,
          "curl rc %d" % rc)
    rc, code = curl("http://127.0.0.1:%d/metrics" % ex.port)
    check("TLS: plain HTTP is refused", rc != 0 or code != "200",
          "curl rc %d, HTTP %s" % (rc, code))
    ex.stop()

    ex = start(d, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
               "  min_version: TLS13\n" % (c("server.crt"), c("server.key")))
    url = "https://127.0.0.1:%d/metrics" % ex.port
    rc, _ = curl(url, "--cacert", c("ca.crt"), "--tls-max", "1.2")
    rc13, code = curl(url, "--cacert", c("ca.crt"))
    check("TLS: min_version TLS13 refuses TLS 1.2, serves TLS 1.3",
          rc != 0 and rc13 == 0 and code == "200", "rc %d / %d" % (rc, rc13))
    ex.stop()

    ex = start(d, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
               "  client_auth_type: RequireAndVerifyClientCert\n"
               "  client_ca_file: %s\n"
               % (c("server.crt"), c("server.key"), c("ca.crt")))
    url = "https://127.0.0.1:%d/metrics" % ex.port
    rc, code = curl(url, "--cacert", c("ca.crt"))
    check("mTLS: no client certificate is refused", code != "200",
          "curl rc %d, HTTP %s" % (rc, code))
    rc, code = curl(url, "--cacert", c("ca.crt"), "--cert", c("client.crt"),
                    "--key", c("client.key"))
    check("mTLS: a client certificate from the CA gets 200",
          rc == 0 and code == "200", "curl rc %d, HTTP %s" % (rc, code))
    rc, code = curl(url, "--cacert", c("ca.crt"), "--cert", c("rogue.crt"),
                    "--key", c("rogue.key"))
    check("mTLS: a certificate from another CA is refused", code != "200",
          "curl rc %d, HTTP %s" % (rc, code))
    ex.stop()


def auth_tests(d):
    web = "basic_auth_users:\n  alice: '%s'\n" % bcrypt("s3cret")
    ex = start(d, web)
    url = "http://127.0.0.1:%d/metrics" % ex.port
    r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", url],
                       capture_output=True, text=True)
    check("auth: no credentials is 401 with WWW-Authenticate: Basic",
          " 401" in r.stdout.splitlines()[0]
          and re.search(r"(?i)^www-authenticate: basic", r.stdout, re.M)
          is not None, r.stdout.splitlines()[0] if r.stdout else "")
    rc, code = curl(url, "-u", "alice:wrong")
    check("auth: a wrong password is 401", code == "401", code)
    rc, code = curl(url, "-u", "mallory:s3cret")
    check("auth: an unknown user is 401", code == "401", code)
    rc, code = curl(url, "-u", "alice:s3cret")
    check("auth: the right password is 200", code == "200", code)
    time.sleep(1.1)                             # a new mtime
    with open(os.path.join(d, "web.yml"), "a") as f:
        f.write("  bob: '%s'\n" % bcrypt("hunter2"))
    rc, code = curl(url, "-u", "bob:hunter2")
    check("auth: a user added to the file works without a restart",
          code == "200", code)
    ex.stop()


def refused_configs(d):
    cases = [
        ("tls_server_config:\n  cert_file: /nonexistent.crt\n"
         "  key_file: /nonexistent.key\n", r":2: cert_file /nonexistent.crt"),
        ("tls_server_confg: {}\n", r":1: unknown key \"tls_server_confg\""),
        ("basic_auth_users:\n  alice: plaintext\n",
         r":2: user \"alice\": expected a bcrypt hash"),
        ("tls_server_config:\n  client_auth_type: Sometimes\n"
         "  cert_file: a\n  key_file: b\n", r":2: client_auth_type"),
    ]
    for i, (text, want) in enumerate(cases):
        web = os.path.join(d, "bad%d.yml" % i)
        with open(web, "w") as f:
            f.write(text)
        r = subprocess.run([T.EXPORTER, "--check-config",
                            "--web.config.file=" + web],
                           capture_output=True, text=True)
        check("bad web config %d refused with file:line" % i,
              r.returncode == 1 and re.search(re.escape(web) + want,
                                              r.stderr) is not None,
              r.stderr.strip()[:160])


def limits_tests(d):
    dd = os.path.join(d, "limits")
    os.makedirs(os.path.join(dd, "dims"))
    subprocess.run([T.LOGGEN, "--dims-dir=" + os.path.join(dd, "dims")],
                   check=True)
    log = os.path.join(dd, "a.log")
    open(log, "wb").close()
    ex = T.Exporter(dd, [log], name="limits")
    ex.stop()
    ex.args += ["--web.connection-timeout=2"]
    ex.start()

    # A slow client: headers never finished.
    s = socket.create_connection(("127.0.0.1", ex.port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(8)
    t0 = time.time()
    try:
        data = s.recv(100)
    except socket.timeout:
        data = None
    check("limits: a slow client is disconnected after the timeout",
          data == b"" and time.time() - t0 < 5,
          "after %.1f s" % (time.time() - t0))
    s.close()

    # An oversized request.
    s = socket.create_connection(("127.0.0.1", ex.port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000
              + b"\r\n\r\n")
    s.settimeout(5)
    try:
        data = s.recv(200)
    except (socket.timeout, ConnectionResetError):
        data = b""
    check("limits: a 40 KB header is refused",
          data == b"" or re.match(rb"HTTP/1\.1 4\d\d", data) is not None,
          data[:40].decode(errors="replace"))
    s.close()

    # Four clients scraping as fast as they can while a writer appends at
    # full speed: nothing crashes, every line counts, memory stays bounded.
    stop = threading.Event()
    counts = [0] * 4
    errors = []

    def scraper(i):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/metrics" % ex.port,
            headers={"Accept-Encoding": "gzip"} if i % 2 else {})
        while not stop.is_set():
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
                counts[i] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=scraper, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    t0 = time.time()
    subprocess.run([T.LOGGEN, "--lines=40000", "--seed=42", "--awkward",
                    "--garbage=0.02", "--output=" + log], check=True)
    want, got = T.settle(ex, [log], timeout=60)
    stop.set()
    for th in threads:
        th.join()
    rss = ex.value("process_resident_memory_bytes")
    check("limits: 4 clients scraping flat out during full-speed ingestion",
          not errors and min(counts) > 0 and ex.p.poll() is None,
          "%d scrapes in %.1f s, %s" % (sum(counts), time.time() - t0,
                                        errors[:2] or "no error"))
    T.compare(ex, [log], dd, "limits: totals under scraping")
    check("limits: RSS bounded", 0 < rss < 400e6, "%.0f MB" % (rss / 1e6))
    ex.stop()


def main():
    for tool in ("openssl", "curl"):
        if shutil.which(tool) is None:
            print("web: %s missing (make test installs it)" % tool)
            return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "dims"))
    subprocess.run([T.LOGGEN, "--dims-dir=" + os.path.join(OUT, "dims")],
                   check=True)
    t0 = time.time()
    certs = os.path.join(OUT, "certs")
    make_certs(certs)
    for test in (lambda: tls_tests(OUT, certs), lambda: auth_tests(OUT),
                 lambda: refused_configs(OUT), lambda: limits_tests(OUT)):
        try:
            test()
        except Exception as e:  # noqa: BLE001
            check("web test", False, "%s: %s" % (type(e).__name__, e))
    passed, failed = T.passed, T.failed
    print("web: %d passed, %d failed (%.0f s)"
          % (passed, failed, time.time() - t0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
