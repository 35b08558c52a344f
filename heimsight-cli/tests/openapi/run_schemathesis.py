#!/usr/bin/env python3
"""Runs Schemathesis (pinned in tests/otel_sdk/requirements.txt) against a running
`heimsight serve`, driven by the server's OpenAPI document.

    python run_schemathesis.py --base-url http://127.0.0.1:PORT
        [--schema URL-or-FILE]              default: <base-url>/api/v1/openapi.json
        [--header 'Authorization: Bearer hsk_...'] ...
        [--max-examples 25] [--workers 1] [--checks ...] [--phases ...] [--mode all]
        [--exclude-path-regex RE] ... [--dry-run] [-- more schemathesis run options]

What it checks, on every response (Schemathesis 4.x check names):
  not_a_server_error           no 5xx answer, whatever the request
  status_code_conformance      the status is one the operation documents (or `default`/`4XX`)
  content_type_conformance     the Content-Type is one documented for that status
  response_schema_conformance  the body matches the documented schema of that status
                               (formats such as date-time are validated too)

Generation is deterministic (Hypothesis' derandomized mode: the same document gives the same
requests on every run, but for values Schemathesis picks up from the server's earlier answers,
such as real trace ids, which --no-response-values turns off), bounded per operation by
--max-examples in the fuzzing phase; the coverage phase adds a fixed set of boundary and
invalid values of each parameter. The
stateful phase (chains of calls through links) is off unless --phases names it.

Schemathesis runs in a fresh temporary directory with a config file of its own, so nothing
of a previous run (its crash cache, Hypothesis' directory) or a schemathesis.toml of the
checkout changes what it does. On failure it prints, per failing operation, the problem, the
response and a curl command reproducing the request (header values named by --header are
shown as [Filtered]), and this script exits with Schemathesis' non-zero status.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

DEFAULT_CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
DEFAULT_PHASES = "examples,coverage,fuzzing"
# Warnings that make the run fail: every request refused for want of credentials (the
# run would test nothing but 401s), and an --exclude... filter matching no operation (a
# stale exclusion hides nothing, or the paths changed under it).
FAIL_ON_WARNINGS = ["missing_auth", "unmatched_filter"]

CONFIG = """\
# Written by run_schemathesis.py for this run only.
[cache]
enabled = false

[warnings]
fail-on = [{fail_on}]
"""
# Values seen in earlier answers (ids, trace ids) are not reused in later requests.
NO_RESPONSE_VALUES = "".join(
    f"\n[phases.{phase}.extra-data-sources]\nresponses = false\n"
    for phase in ("examples", "coverage", "fuzzing")
)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base-url", required=True, help="the API's base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument(
        "--schema",
        help="URL or file of the OpenAPI document (default: <base-url>/api/v1/openapi.json)",
    )
    ap.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME: VALUE",
        help="a header sent with every request, e.g. 'Authorization: Bearer hsk_...' (repeatable)",
    )
    ap.add_argument("--max-examples", type=int, default=25, help="fuzzing cases per operation (default 25)")
    ap.add_argument("--workers", type=int, default=1, help="concurrent workers (default 1)")
    ap.add_argument("--checks", default=DEFAULT_CHECKS, help=f"default: {DEFAULT_CHECKS}")
    ap.add_argument("--phases", default=DEFAULT_PHASES, help=f"default: {DEFAULT_PHASES}")
    ap.add_argument(
        "--mode",
        default="all",
        choices=["positive", "negative", "all"],
        help="valid data only, invalid only, or both (default: all)",
    )
    ap.add_argument(
        "--exclude-path-regex",
        action="append",
        default=[],
        metavar="RE",
        help="leave out the operations whose path template matches (repeatable)",
    )
    ap.add_argument(
        "--no-response-values",
        action="store_true",
        help="do not reuse values from earlier answers (real ids, trace ids) in requests: "
        "the requests then depend on nothing but the document",
    )
    ap.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request (default 30)")
    ap.add_argument("--report-dir", help="also write JUnit XML and NDJSON reports here")
    ap.add_argument("--dry-run", action="store_true", help="print the command line and exit")
    ap.add_argument("extra", nargs="*", help="after --: more options of `schemathesis run`")
    args = ap.parse_args()

    base = args.base_url.rstrip("/")
    schema = args.schema or f"{base}/api/v1/openapi.json"
    if not schema.startswith(("http://", "https://")):
        schema = os.path.abspath(schema)
        if not os.path.isfile(schema):
            print(f"run_schemathesis.py: no such schema file: {schema}", file=sys.stderr)
            return 2
    for h in args.header:
        if ":" not in h:
            print(f"run_schemathesis.py: --header wants 'Name: value', got {h!r}", file=sys.stderr)
            return 2

    cmd = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", "schemathesis.toml",
        "--no-color",
        "run", schema,
        "--url", base,
        "--checks", args.checks,
        "--phases", args.phases,
        "--mode", args.mode,
        "--max-examples", str(args.max_examples),
        "--generation-deterministic",
        "--continue-on-failure",
        "--workers", str(args.workers),
        "--request-timeout", str(args.request_timeout),
        "--suppress-health-check", "all",
    ]
    for h in args.header:
        name, value = h.split(":", 1)
        cmd += ["--header", f"{name.strip()}:{value.strip()}"]
    for r in args.exclude_path_regex:
        cmd += ["--exclude-path-regex", r]
    if args.report_dir:
        report_dir = os.path.abspath(args.report_dir)
        os.makedirs(report_dir, exist_ok=True)
        cmd += ["--report", "junit,ndjson", "--report-dir", report_dir]
    cmd += args.extra

    shown = list(cmd)
    for i, part in enumerate(shown):
        if i > 0 and shown[i - 1] == "--header":
            shown[i] = part.split(":", 1)[0] + ": [Filtered]"
    print("run_schemathesis.py:", shlex.join(shown), flush=True)
    if args.dry_run:
        return 0

    env = dict(os.environ)
    # Loopback only: no proxy, no config or hooks of Schemathesis from the environment.
    for k in list(env):
        if k.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY") or k.startswith("SCHEMATHESIS_"):
            del env[k]
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"

    with tempfile.TemporaryDirectory(prefix="heimsight-schemathesis-") as work:
        with open(os.path.join(work, "schemathesis.toml"), "w") as f:
            f.write(CONFIG.format(fail_on=", ".join(f'"{w}"' for w in FAIL_ON_WARNINGS)))
            if args.no_response_values:
                f.write(NO_RESPONSE_VALUES)
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
    verdict = "passed" if code == 0 else f"FAILED (exit status {code})"
    print(f"run_schemathesis.py: Schemathesis {verdict} in {elapsed:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
