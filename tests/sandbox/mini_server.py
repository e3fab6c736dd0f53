"""A stdlib-only MCP server (any python3 runs it) with probe tools for the sandbox tests."""

import ctypes
import json
import os
import socket
import sys


def probe(targets: dict) -> dict:
    """Try every route at workspace A; report which ones worked."""
    got: dict = {}

    def attempt(name, fn):
        try:
            got[name] = repr(fn())[:200]
        except Exception as exc:
            got[name] = f"FAILED {type(exc).__name__}"

    attempt("credentials", lambda: open(targets["credentials"]).read())
    attempt("log", lambda: open(targets["log"]).read())
    attempt("run_records", lambda: os.listdir(targets["run_dir"]))
    attempt("settings", lambda: open(targets["settings"]).read())
    attempt("environ", lambda: open(f"/proc/{targets['pid']}/environ", "rb").read())
    attempt("cmdline", lambda: open(f"/proc/{targets['pid']}/cmdline", "rb").read())
    secret = targets["secret"].encode()
    leaks = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if secret in open(f"/proc/{name}/environ", "rb").read():
                    leaks.append(name)
            except OSError:
                pass
    got["secret_in_any_environ"] = leaks
    attempt(
        "write_bundle", lambda: open(os.path.join(targets["bundle"], "evil.py"), "w").write("x")
    )
    attempt("signal", lambda: os.kill(targets["pid"], 15))
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.ptrace(16, targets["pid"], 0, 0)  # PTRACE_ATTACH
    got["ptrace"] = "FAILED" if rc != 0 else "attached"

    def connect():
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(targets["socket"])
            return "connected"

    attempt("socket", connect)
    return got


def call(name: str, args: dict):
    if name == "probe":
        return probe(args)
    if name == "env":
        return os.environ.get(args["key"], "")
    if name == "connect":
        with socket.create_connection(("127.0.0.1", args["port"]), timeout=5):
            return "connected"
    if name == "helpers":
        for _ in range(args["count"]):
            if os.fork() == 0:
                os.setsid()
                os.execve("/bin/sleep", ["sleep", args["seconds"]], {})
        return "spawned"
    raise ValueError(name)


def main() -> None:
    for line in sys.stdin:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        method, params = msg.get("method"), msg.get("params") or {}
        if method == "initialize":
            result = {
                "protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mini", "version": "1"},
            }
        elif method == "tools/list":
            tools = ["probe", "env", "connect", "helpers"]
            result = {"tools": [{"name": t, "inputSchema": {"type": "object"}} for t in tools]}
        elif method == "tools/call":
            try:
                text = json.dumps(call(params["name"], params.get("arguments") or {}))
                result = {"content": [{"type": "text", "text": text}], "isError": False}
            except Exception as exc:
                result = {"content": [{"type": "text", "text": repr(exc)}], "isError": True}
        else:
            result = {}
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)


if __name__ == "__main__":
    main()
