#!/usr/bin/env python3
"""Writes the hand-made seed corpus of every fuzz target into fuzz/corpus/.

The seeds are synthetic: requests for each route of docs/api.md and
request smuggling attempts, bodies, a few drink log lines in the importer's
format, configuration files. Run it again after changing a seed here.
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "corpus")
ADMIN = "fuzz-admin-token-0123"  # fuzz/api_fixture.hpp
CRON = "fuzz-cron-secret-4567"


def request(method, target, body=None, headers=(), auth=ADMIN, version="1.1"):
    lines = [f"{method} {target} HTTP/{version}", "Host: 127.0.0.1:8787"]
    if auth is not None:
        lines.append(f"Authorization: Bearer {auth}")
    lines += list(headers)
    data = b""
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def raw(text):
    return text.replace("\n", "\r\n").encode()


USER = json.dumps({"email": "cy@example.com", "name": "Cy",
                   "time_zone": "Asia/Tokyo"})
BOTTLE = json.dumps({"user_id": 1, "name": "Islay", "price": 62.5,
                     "volume_ml": 700})
POUR = json.dumps({"user_id": 1, "bottle_id": 1, "amount_oz": 1.5,
                   "poured_at": "2026-12-03T23:10:00+01:00", "rating": 7.5,
                   "notes": "smoke", "location": "friend's place",
                   "tags": ["Peaty", " smoky "], "companions": ["Bo"]})
POUR_SESSION = json.dumps({"user_id": 1, "bottle_id": 1, "amount_oz": 0.1,
                           "poured_at": "2026-12-03T19:00:00Z",
                           "session_id": 1})
POUR_BO = json.dumps({"user_id": 2, "bottle_id": 2, "amount_oz": 10,
                      "poured_at": "2026-12-02T23:59:59.999-05:00"})
CURRENT = json.dumps({"user_id": 1, "location": "Home", "tags": ["quiet"]})

http = {
    "post-users": request("POST", "/api/users", USER),
    "post-bottles": request("POST", "/api/bottles", BOTTLE),
    "post-pours": request("POST", "/api/pours", POUR,
                          ["Idempotency-Key: 7f0c-1"]),
    "post-pours-session": request("POST", "/api/pours", POUR_SESSION),
    "post-pours-offset": request("POST", "/api/pours", POUR_BO),
    "post-sessions-current": request("POST", "/api/sessions/current",
                                     CURRENT),
    "get-user-sessions": request(
        "GET", "/api/users/1/sessions?from=2026-12-01&to=2026-12-31"),
    "get-session": request("GET", "/api/sessions/1"),
    "get-orphans": request("GET", "/api/orphans"),
    "get-cron": request("GET", "/api/cron/check-orphaned-pours", auth=CRON),
    "post-cron": request("POST", "/api/cron/check-orphaned-pours",
                         auth=CRON, headers=["Content-Length: 0"]),
    "get-healthz": request("GET", "/healthz", auth=None),
    "get-readyz": request("GET", "/readyz", auth=None),
    "get-metrics": request("GET", "/metrics", auth=None),
    "http10-keep-alive": request("GET", "/healthz", auth=None,
                                 headers=["Connection: keep-alive"],
                                 version="1.0"),
    "pipelined": request("GET", "/healthz", auth=None)
    + request("POST", "/api/pours", POUR)
    + request("GET", "/api/sessions/1", headers=["Connection: close"]),
    "scheme-lower-case": request("GET", "/api/orphans",
                                 auth=ADMIN, headers=[]).replace(
        b"Bearer", b"bEaReR"),
    "wrong-token": request("GET", "/api/orphans", auth=ADMIN + "x"),
    "basic-auth": raw("GET /api/orphans HTTP/1.1\nHost: a\n"
                      "Authorization: Basic YWRtaW46YWRtaW4=\n\n"),
    "cron-with-admin-token": request("GET", "/api/cron/check-orphaned-pours"),
    "two-authorizations": raw(
        f"GET /api/orphans HTTP/1.1\nHost: a\nAuthorization: Bearer x\n"
        f"Authorization: Bearer {ADMIN}\n\n"),
    "expect-continue": request("POST", "/api/users", USER,
                               ["Expect: 100-continue"]),
    "expect-continue-too-big": raw(
        "POST /api/users HTTP/1.1\nHost: a\nExpect: 100-continue\n"
        "Content-Length: 999999\n\n"),
    "cl-and-te": raw(
        "POST /api/users HTTP/1.1\nHost: a\nContent-Length: 4\n"
        f"Transfer-Encoding: chunked\nAuthorization: Bearer {ADMIN}\n\n"
        "5\n{\"a\":\n0\n\nGET /api/orphans HTTP/1.1\nHost: a\n\n"),
    "te-cl": raw(
        "POST /api/users HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n"
        "Content-Length: 40\n\n0\n\nGET /metrics HTTP/1.1\nHost: a\n\n"),
    "double-cl": raw("POST /api/users HTTP/1.1\nHost: a\nContent-Length: 2\n"
                     "Content-Length: 20\n\n{}"),
    "te-obfuscated": raw("POST /api/users HTTP/1.1\nHost: a\n"
                         "Transfer-Encoding: xchunked\n"
                         "Transfer-Encoding : chunked\n\n0\n\n"),
    "chunked-trailer": raw(
        f"POST /api/users HTTP/1.1\nHost: a\nAuthorization: Bearer {ADMIN}\n"
        "Transfer-Encoding: chunked\n\n"
        f"{len(USER):x};ext=1\n{USER}\n0\nX-Trailer: 1\n\n"),
    "chunk-size-overflow": raw("POST /api/users HTTP/1.1\nHost: a\n"
                               "Transfer-Encoding: chunked\n\n"
                               "ffffffffffffffff1\nab\n0\n\n"),
    "obs-fold": raw("GET /healthz HTTP/1.1\nHost: a\nX-A: 1\n  folded\n\n"),
    "bare-lf": b"GET /healthz HTTP/1.1\nHost: a\n\n",
    "absolute-form": raw("GET http://127.0.0.1:8787/healthz HTTP/1.1\n"
                         "Host: a\n\n"),
    "dot-segments": request("GET", "/api/sessions/../orphans"),
    "percent-encoded": request("GET", "/api/sessions/%31?x=%ZZ"),
    "encoded-slash": request("GET", "/api/users/1%2Fsessions"),
    "unknown-query": request("GET", "/api/orphans?debug=1"),
    "bad-days": request("GET", "/api/users/1/sessions?from=2026-13-01&to=x"),
    "huge-id": request("GET", "/api/sessions/99999999999999999999"),
    "head": request("HEAD", "/healthz", auth=None),
    "invented-method": request("BREW", "/api/pours", POUR),
    "http09": b"GET /healthz\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "nul-in-header": b"GET /healthz HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
    "non-object-body": request("POST", "/api/users", "[1,2,3]"),
    "deep-body": request("POST", "/api/users", "[" * 40 + "]" * 40),
    # Over the 16 KiB header limit: 431.
    "header-too-large": request("GET", "/healthz", auth=None,
                                headers=["X-Pad: " + "a" * 17000]),
    # A declared body over 64 KiB: 413 before the body arrives.
    "body-too-large": raw("POST /api/users HTTP/1.1\nHost: a\n"
                          "Content-Length: 65537\n\n{}"),
}

json_body = {
    "user": "u" + USER,
    "user-minimal": 'u{"email":"dee@example.com"}',
    "user-bad": 'u{"email":"no at sign","time_zone":"Mars/Olympus","x":1}',
    "bottle": "b" + BOTTLE,
    "bottle-bad": 'b{"user_id":-1,"name":"","price":1000000.001,'
                  '"volume_ml":0}',
    "pour": "p" + POUR,
    "pour-idempotent": "P" + POUR,
    "pour-session": "p" + POUR_SESSION,
    "pour-offset": "p" + POUR_BO,
    "pour-now": 'p{"user_id":2,"bottle_id":2,"amount_oz":2}',
    "pour-bad": 'p{"user_id":1,"bottle_id":2,"amount_oz":10.001,'
                '"rating":7.25,"poured_at":"1969-12-31T23:59:59Z",'
                '"location":"Moon","tags":["' + "x" * 70 + '"],'
                '"notes":null,"session_id":0}',
    "pour-types": 'p{"user_id":"1","bottle_id":1.0,"amount_oz":"1",'
                  '"tags":"a","companions":[1]}',
    "pour-unicode": 'p{"user_id":1,"bottle_id":1,"amount_oz":1,'
                    '"tags":["\\u00c9T\\u00c9","e\\u0301t\\u00e9"],'
                    '"notes":"\\ud83e\\udd43"}',
    "current": "c" + CURRENT,
    "current-empty": 'c{"user_id":2}',
    "numbers": 'p{"user_id":1e400,"bottle_id":18446744073709551616,'
               '"amount_oz":-0.0,"rating":1E1}',
    "duplicate-keys": 'u{"email":"a@b.c","email":"ed@example.com"}',
}

CSV_HEADER = ("checkin_id,created_at_utc,tz_offset_minutes,drink_name,"
              "producer,style,abv,serving_type,rating,venue_category,"
              "comment_length")
csv_import = {
    "drink-log": CSV_HEADER + "\n"
    "1001,2019-03-24T08:51:15Z,540,Hazy Days,North Mill,IPA - New England,"
    "6.5,Draft,4.25,Bar,0\n"
    "1002,2019-03-24T10:02:00Z,540,\"Stout, Imperial\",\"The \"\"Old\"\" "
    "Works\",Stout,11,Can,3.5,Brewery,12\n"
    "1003,2019-03-25T00:30:00Z,,Pils,,Pilsner,0,,,,\n",
    "crlf-bom": "\ufeff" + CSV_HEADER.replace(",", ", ") + "\r\n"
    "2001,2020-02-29T23:59:59Z,-300,Porter,Mill,Porter,5.5,Bottle,5,"
    "Restaurant,3\r\n",
    "bad-rows": CSV_HEADER + "\n"
    "3001,2019-13-01T00:00:00Z,900,Lager,Mill,Lager,-1,Draft,6,Bar,-2\n"
    "3001,2019-03-01T00:00:00Z,0,Lager,Mill,Lager,4,Draft,2,Bar,0\n"
    ",yesterday,x,,,,abc,,1e3,,\n"
    "3003,2019-03-01T00:00:00Z,0,\"unclosed,Mill\n",
    "multiline-field": CSV_HEADER + "\n"
    "4001,2019-03-01T12:00:00Z,60,\"Two\nLines\",Mill,Ale,5,Draft,3,"
    "Home,0\n\n\n",
    "reordered-columns": "comment_length,venue_category,rating,serving_type,"
    "abv,style,producer,drink_name,tz_offset_minutes,created_at_utc,"
    "checkin_id\n0,Other,2.75,Taster,4.2,Sour,Farm,Gose,-240,"
    "2021-07-04T20:00:00Z,5001\n",
    "wrong-header": "id,when,what\n1,2,3\n",
}

json_import = {
    "pours": json.dumps([
        {"user_email": "ada@example.com", "bottle_name": "Rye",
         "poured_at": "2019-03-24T17:51:15+09:00", "amount_oz": 1.5,
         "rating": 8.5, "notes": "neat", "location": "Bar",
         "tags": ["Peaty"], "companions": ["Bo"], "external_id": "a-1"},
        {"user_email": "bo@example.com", "bottle_name": "Stout",
         "poured_at": "2019-03-24T08:51:15Z", "amount_oz": 10,
         "external_id": 77},
        {"bottle_name": "Gin", "poured_at": "2019-03-24T08:51:15Z",
         "amount_oz": 0.1},
    ], indent=1),
    "bad-rows": '[{"bottle_name":"","poured_at":"3001-01-01T00:00:00Z",'
                '"amount_oz":11,"rating":7.25,"x":1},\n 1, null, "s",\n'
                '{"user_email":"nope","bottle_name":"A","poured_at":'
                '"2019-03-24T08:51:15+15:00","amount_oz":1,'
                '"external_id":1.5}]',
    "not-array": '{"pours": []}',
    "nested-strings": '[{"bottle_name":"a\\"]\\\\","poured_at":'
                      '"2019-03-24T08:51:15Z","amount_oz":1,'
                      '"user_email":"a@b.c"}]',
}

config = {
    "sample": "# pourd.conf\n"
    "database = mysql://pourd:s3cret%40x@db.internal:3306/pourd?socket="
    "/run/mysqld/mysqld.sock\n"
    "listen = [::1]:8787\nsession_timeout = 4h\ncurrent_window = 90m\n"
    "day_boundary = 05:00\ndefault_time_zone = Europe/Oslo\n"
    "sweep_interval = 0\nsweep_batch = 1000\nlog_format = logfmt\n"
    "log_level = debug\ncron_secret = \"c r o n\"\n",
    "sqlite": "database = sqlite:///var/lib/pourd/pourd.db\n"
    "state_dir = /var/lib/pourd\nsweep_interval = 250ms\n",
    "bad": "listen = 127.0.0.1\nsession_timeout = 4 hours\n"
    "day_boundary = 24:01\nunknown = 1\n",
    "url-tricks": "database = mysql://us%3Aer:pa:ss@[::1]:0/a/b?x=1\n"
    "database = mysql://:pw@host/db\n"
    "database = mysql://u:p@w@host:99999/db\n",
}

targets = {"http": http, "json_body": json_body, "csv_import": csv_import,
           "json_import": json_import, "config": config}
for target, seeds in targets.items():
    out = os.path.join(CORPUS, target)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, data in seeds.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
