"""Runs a command in a pseudo-terminal, types keys, and prints the screens it drew.

    python pty_drive.py COLS ROWS STEPS... -- COMMAND ARGS...

Steps: `sleep:SECONDS`, `key:TEXT` (Python escapes such as \\r, \\x15, \\x1b), `resize:COLSxROWS`,
`screen:NAME` (print the screen as it is now, under `=== NAME`). The terminal's output goes
through pyte, a VT100 emulator, so the screens are what a user would see. At the end the
command's exit code is printed as `=== EXIT n` (the command is killed if it has not exited
3 seconds after the last step) and whether it left the alternate screen as `=== RESTORED b`.
Used by the TUI test: a real terminal, real keys, a real server.
"""

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

import pyte


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    args = sys.argv[1:]
    cols, rows = int(args[0]), int(args[1])
    split = args.index("--")
    steps, command = args[2:split], args[split + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(command[0], command)
    set_size(fd, cols, rows)
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    raw = bytearray()

    def pump(seconds):
        end = time.time() + seconds
        while True:
            left = end - time.time()
            if left <= 0:
                return True
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return False
                if not data:
                    return False
                raw.extend(data)
                stream.feed(data)

    out = sys.stdout
    alive = pump(0.2)
    for step in steps:
        kind, _, value = step.partition(":")
        if kind == "sleep":
            alive = pump(float(value))
        elif kind == "key":
            os.write(fd, value.encode().decode("unicode_escape").encode())
            alive = pump(0.05)
        elif kind == "resize":
            c, r = (int(x) for x in value.split("x"))
            set_size(fd, c, r)
            screen.resize(r, c)
            os.kill(pid, signal.SIGWINCH)
            alive = pump(0.05)
        elif kind == "screen":
            out.write(f"=== {value}\n")
            for line in screen.display:
                out.write(line.rstrip() + "\n")
        if not alive:
            break
    deadline = time.time() + 3
    status = None
    while time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        pump(0.05)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status) if status is not None else -9
    out.write(f"=== EXIT {code}\n")
    out.write(f"=== RESTORED {str(raw.rfind(b'[?1049l') > raw.rfind(b'[?1049h')).lower()}\n")
    out.flush()


main()
