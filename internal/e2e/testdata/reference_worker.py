#!/usr/bin/env python3
"""Minimal MapReduce worker written from the reference protocol alone.

Usage: reference_worker.py MASTER_PORT WORKER_PORT [HEARTBEAT_SECONDS]

Only the messages named in the reference protocol are used:
  sent:     register, heartbeat (UDP), status
  received: register_ack, new_worker_job, new_sort_job, shutdown

Behaviour:
  * listens on TCP localhost:WORKER_PORT;
  * sends "register" to localhost:MASTER_PORT (retrying for up to 10 s if the
    connection is refused);
  * after register_ack, sends a UDP heartbeat to localhost:MASTER_PORT-1
    every HEARTBEAT_SECONDS (default 2.0);
  * every incoming TCP connection carries one JSON document, read to EOF;
  * each job runs in its own thread, so several tasks can run at once;
  * "shutdown" terminates the process immediately;
  * tests may set REFERENCE_WORKER_SORT_DELAY (seconds) to hold each sort task
    that long before working on it, so that it can be killed mid-group.
Every message to the master is a fresh TCP connection: connect, one
sendall, close.  Standard library only.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback

HOST = "localhost"


def log(text):
    sys.stderr.write("reference_worker[%d]: %s\n" % (os.getpid(), text))
    sys.stderr.flush()


class Worker:
    def __init__(self, master_port, worker_port, heartbeat_seconds):
        self.master_port = master_port
        self.worker_port = worker_port
        self.heartbeat_seconds = heartbeat_seconds
        self.pid = os.getpid()
        self.heartbeat_started = False
        self.lock = threading.Lock()

    # ----- sending ---------------------------------------------------------

    def send_to_master(self, message):
        data = json.dumps(message).encode("utf-8")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.connect((HOST, self.master_port))
            sock.sendall(data)

    def register(self):
        message = {
            "message_type": "register",
            "worker_host": HOST,
            "worker_port": self.worker_port,
            "worker_pid": self.pid,
        }
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self.send_to_master(message)
                return
            except (ConnectionRefusedError, ConnectionResetError) as err:
                if time.monotonic() >= deadline:
                    log("could not register with master: %s" % err)
                    os._exit(1)
                time.sleep(0.1)

    def heartbeat_loop(self):
        message = json.dumps(
            {"message_type": "heartbeat", "worker_pid": self.pid}
        ).encode("utf-8")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while True:
                try:
                    sock.sendto(message, (HOST, self.master_port - 1))
                except OSError as err:
                    log("heartbeat send failed: %s" % err)
                time.sleep(self.heartbeat_seconds)

    def start_heartbeat(self):
        with self.lock:
            if self.heartbeat_started:
                return
            self.heartbeat_started = True
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()

    # ----- jobs ------------------------------------------------------------

    def run_worker_job(self, message):
        executable = message["executable"]
        output_directory = message["output_directory"]
        output_files = []
        for input_file in message["input_files"]:
            output_file = os.path.join(
                output_directory, os.path.basename(input_file)
            )
            with open(input_file, "rb") as infile, open(output_file, "wb") as outfile:
                result = subprocess.run(
                    [executable], stdin=infile, stdout=outfile, check=False
                )
            if result.returncode != 0:
                log("%s exited with %d on %s"
                    % (executable, result.returncode, input_file))
            output_files.append(output_file)
        self.send_to_master({
            "message_type": "status",
            "output_files": output_files,
            "status": "finished",
            "worker_pid": self.pid,
        })

    def run_sort_job(self, message):
        time.sleep(float(os.environ.get("REFERENCE_WORKER_SORT_DELAY", "0")))
        lines = []
        for input_file in message["input_files"]:
            with open(input_file, "rb") as infile:
                for line in infile:
                    if not line.endswith(b"\n"):
                        line += b"\n"
                    lines.append(line)
        output_file = message["output_file"]
        with open(output_file, "wb") as outfile:
            outfile.writelines(sorted(lines))
        self.send_to_master({
            "message_type": "status",
            "output_file": output_file,
            "status": "finished",
            "worker_pid": self.pid,
        })

    def job_thread(self, handler, message):
        try:
            handler(message)
        except Exception:  # pylint: disable=broad-except
            # Like a typical course solution: the task is simply lost and no
            # status is sent; the master has to cope.
            log("job failed:\n" + traceback.format_exc())

    # ----- receiving -------------------------------------------------------

    def handle_msg(self, message):
        message_type = message.get("message_type")
        if message_type == "register_ack":
            self.start_heartbeat()
        elif message_type == "new_worker_job":
            threading.Thread(
                target=self.job_thread,
                args=(self.run_worker_job, message),
                daemon=True,
            ).start()
        elif message_type == "new_sort_job":
            threading.Thread(
                target=self.job_thread,
                args=(self.run_sort_job, message),
                daemon=True,
            ).start()
        elif message_type == "shutdown":
            os._exit(0)
        else:
            log("ignoring message: %r" % (message,))

    @staticmethod
    def read_all(conn):
        conn.settimeout(10.0)
        chunks = []
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def serve(self):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((HOST, self.worker_port))
        server.listen(16)

        self.register()

        while True:
            conn, _ = server.accept()
            try:
                with conn:
                    data = self.read_all(conn)
            except OSError as err:
                log("error reading connection: %s" % err)
                continue
            if not data.strip():
                continue
            try:
                message = json.loads(data.decode("utf-8"))
            except ValueError as err:
                log("bad JSON (%s): %r" % (err, data[:200]))
                continue
            if not isinstance(message, dict):
                log("ignoring non-object JSON: %r" % (message,))
                continue
            self.handle_msg(message)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(
            "usage: reference_worker.py MASTER_PORT WORKER_PORT [HEARTBEAT_SECONDS]\n"
        )
        return 2
    master_port = int(argv[1])
    worker_port = int(argv[2])
    heartbeat_seconds = float(argv[3]) if len(argv) == 4 else 2.0
    Worker(master_port, worker_port, heartbeat_seconds).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
