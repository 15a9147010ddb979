#!/usr/bin/env python3
"""Minimal reference-only MapReduce master, used to test a worker.

Usage: reference_master.py PORT INPUT_DIR MAPPER OUTPUT_DIR

Steps (exit 0 on success; on failure print the reason to stderr, exit 1):
  1. listen on TCP localhost:PORT and UDP localhost:PORT-1;
  2. wait up to 20 s for "register", reply "register_ack" (message_type,
     worker_host, worker_port, worker_pid copied from the register) to
     worker_host:worker_port;
  3. wait up to 20 s for a heartbeat carrying the registered worker_pid;
  4. send one "new_worker_job" with the sorted files of INPUT_DIR, MAPPER,
     OUTPUT_DIR (created if missing) and the registered worker_pid;
  5. wait up to 30 s for a "status" with status "finished" (output files
     taken from "output_files" or "output_file"), check that every expected
     output file (OUTPUT_DIR/<input basename>) is listed, exists, and equals
     MAPPER run locally on that input;
  6. send "shutdown" to the worker.
On failure a best-effort "shutdown" is also sent to a registered worker so it
does not linger.  Every incoming TCP connection is read to EOF and holds one
JSON document; empty connections are ignored.  Standard library only.
"""
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

HOST = "localhost"
REGISTER_TIMEOUT = 20.0
HEARTBEAT_TIMEOUT = 20.0
STATUS_TIMEOUT = 30.0


class Failure(Exception):
    pass


def log(text):
    sys.stderr.write("reference_master: %s\n" % text)
    sys.stderr.flush()


def read_all(conn):
    conn.settimeout(10.0)
    chunks = []
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def tcp_listener(server, messages):
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        try:
            with conn:
                data = read_all(conn)
        except OSError as err:
            log("error reading TCP connection: %s" % err)
            continue
        if not data.strip():
            continue
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError as err:
            messages.put(("bad", "invalid JSON on TCP (%s): %r" % (err, data[:200])))
            continue
        messages.put(("ok", message))


def udp_listener(sock, heartbeats):
    while True:
        try:
            data, _ = sock.recvfrom(65536)
        except OSError:
            return
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError as err:
            heartbeats.put(("bad", "invalid JSON on UDP (%s): %r" % (err, data[:200])))
            continue
        heartbeats.put(("ok", message))


def next_message(messages, deadline, what):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Failure("timed out waiting for %s" % what)
    try:
        kind, item = messages.get(timeout=remaining)
    except queue.Empty:
        raise Failure("timed out waiting for %s" % what) from None
    if kind == "bad":
        raise Failure(item)
    if not isinstance(item, dict):
        raise Failure("message is not a JSON object: %r" % (item,))
    return item


def send_json(host, port, message, attempts=20):
    data = json.dumps(message).encode("utf-8")
    last_error = None
    for _ in range(attempts):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.connect((host, port))
                sock.sendall(data)
            return
        except OSError as err:
            last_error = err
            time.sleep(0.1)
    raise Failure("could not send %s to %s:%s: %s"
                  % (message.get("message_type"), host, port, last_error))


def wait_for_register(messages):
    deadline = time.monotonic() + REGISTER_TIMEOUT
    while True:
        message = next_message(messages, deadline, "register")
        if message.get("message_type") != "register":
            log("ignoring before register: %r" % (message,))
            continue
        for field, kind in (("worker_host", str), ("worker_port", int),
                            ("worker_pid", int)):
            value = message.get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise Failure("register has bad %s: %r" % (field, message))
        return message


def wait_for_heartbeat(heartbeats, pid):
    deadline = time.monotonic() + HEARTBEAT_TIMEOUT
    while True:
        message = next_message(heartbeats, deadline, "heartbeat")
        if message.get("message_type") != "heartbeat":
            raise Failure("unexpected UDP message: %r" % (message,))
        if message.get("worker_pid") != pid:
            raise Failure("heartbeat has worker_pid %r, registered pid is %r"
                          % (message.get("worker_pid"), pid))
        return


def wait_for_status(messages, pid):
    deadline = time.monotonic() + STATUS_TIMEOUT
    while True:
        message = next_message(messages, deadline, "status finished")
        if message.get("message_type") != "status":
            log("ignoring while waiting for status: %r" % (message,))
            continue
        if message.get("worker_pid") != pid:
            raise Failure("status has worker_pid %r, registered pid is %r"
                          % (message.get("worker_pid"), pid))
        if message.get("status") != "finished":
            log("ignoring status that is not finished: %r" % (message,))
            continue
        return message


def reported_files(status):
    files = []
    if "output_files" in status:
        value = status["output_files"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Failure("output_files is not a list of strings: %r" % (status,))
        files.extend(value)
    if "output_file" in status:
        value = status["output_file"]
        if not isinstance(value, str):
            raise Failure("output_file is not a string: %r" % (status,))
        files.append(value)
    if not files:
        raise Failure("status lists no output files: %r" % (status,))
    return files


def check_outputs(status, input_files, mapper, output_dir):
    listed = {os.path.normpath(os.path.abspath(f)) for f in reported_files(status)}
    for input_file in input_files:
        expected = os.path.join(output_dir, os.path.basename(input_file))
        if os.path.normpath(os.path.abspath(expected)) not in listed:
            raise Failure("output file %s not listed in status %r"
                          % (expected, status))
        if not os.path.isfile(expected):
            raise Failure("output file %s does not exist" % expected)
        with open(input_file, "rb") as infile:
            truth = subprocess.run([mapper], stdin=infile,
                                   stdout=subprocess.PIPE, check=True).stdout
        with open(expected, "rb") as outfile:
            got = outfile.read()
        if got != truth:
            raise Failure("output file %s differs from local run of %s "
                          "(%d bytes vs %d expected)"
                          % (expected, mapper, len(got), len(truth)))


def run(port, input_dir, mapper, output_dir, state):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, port))
    server.listen(16)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((HOST, port - 1))

    messages = queue.Queue()
    heartbeats = queue.Queue()
    threading.Thread(target=tcp_listener, args=(server, messages),
                     daemon=True).start()
    threading.Thread(target=udp_listener, args=(udp, heartbeats),
                     daemon=True).start()

    register = wait_for_register(messages)
    worker = (register["worker_host"], register["worker_port"])
    pid = register["worker_pid"]
    state["worker"] = worker
    send_json(worker[0], worker[1], {
        "message_type": "register_ack",
        "worker_host": register["worker_host"],
        "worker_port": register["worker_port"],
        "worker_pid": pid,
    })

    wait_for_heartbeat(heartbeats, pid)

    input_files = sorted(
        os.path.join(input_dir, name) for name in os.listdir(input_dir)
        if os.path.isfile(os.path.join(input_dir, name))
    )
    if not input_files:
        raise Failure("no input files in %s" % input_dir)
    os.makedirs(output_dir, exist_ok=True)
    send_json(worker[0], worker[1], {
        "message_type": "new_worker_job",
        "input_files": input_files,
        "executable": mapper,
        "output_directory": output_dir,
        "worker_pid": pid,
    })

    status = wait_for_status(messages, pid)
    check_outputs(status, input_files, mapper, output_dir)

    send_json(worker[0], worker[1], {"message_type": "shutdown"})
    state["worker"] = None


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(
            "usage: reference_master.py PORT INPUT_DIR MAPPER OUTPUT_DIR\n")
        return 2
    port = int(argv[1])
    input_dir, mapper, output_dir = argv[2], argv[3], argv[4]
    state = {"worker": None}
    try:
        run(port, input_dir, mapper, output_dir, state)
    except (Failure, OSError, subprocess.CalledProcessError) as err:
        log("FAIL: %s" % err)
        if state["worker"] is not None:
            try:
                send_json(state["worker"][0], state["worker"][1],
                          {"message_type": "shutdown"}, attempts=1)
            except Failure:
                pass
        return 1
    log("OK: worker passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
