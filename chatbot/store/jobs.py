"""Background jobs as the database records them: one running at a time across every replica
sharing the database (a unique index on the running row), each with the replica that runs it,
and jobs whose process died marked failed instead of blocking forever."""

from __future__ import annotations

import json
import os
import socket
import time

import sqlalchemy as sa

from chatbot.store.records import Records

JOB_STALE_S = 15 * 60  # a running job that has not reported for this long belongs to a dead replica


def this_replica(name: str | None = None) -> str:
    """This process in the jobs table: ``host:pid``, after the ``replica`` setting's name when
    there is one (``app-1 on host:pid``). The host and pid tell a later start whether the
    process that ran a job is gone (replicas on one host must share its process ids)."""
    where = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name} on {where}" if name else where


class JobBusy(RuntimeError):
    """Another job runs, on this replica or another one sharing the database."""

    def __init__(self, job: dict):
        self.job = job
        super().__init__(f"a {job['kind']} job is already running on replica {job['replica']} (job {job['id']})")


class JobRecords(Records):
    replica: str

    # -- jobs ---------------------------------------------------------------------------------
    def start_job(self, kind: str) -> int:
        """Records a job as running on this replica. ``JobBusy`` when one already runs on any
        replica sharing the database (a unique index allows one running row); a job whose
        replica stopped reporting ``JOB_STALE_S`` ago is marked failed first."""
        self._fail_dead_jobs()
        now = time.time()
        try:
            with self._tx() as db:
                return self._run(
                    db,
                    "INSERT INTO jobs (kind, status, started, replica, updated)"
                    " VALUES (:kind, 'running', :now, :replica, :now) RETURNING id",
                    kind=kind,
                    now=now,
                    replica=self.replica,
                ).scalar_one()
        except sa.exc.IntegrityError:
            running = self.running_job()
            if running is None:  # it ended in between: try once more
                return self.start_job(kind)
            raise JobBusy(running) from None

    def running_job(self) -> dict | None:
        return self._row("SELECT * FROM jobs WHERE status='running'")

    def update_job(self, job_id: int, progress: float, message: str) -> None:
        self._write(
            "UPDATE jobs SET progress=:progress, message=:message, updated=:now WHERE id=:id",
            progress=progress,
            message=message,
            now=time.time(),
            id=job_id,
        )

    def finish_job(self, job_id: int, status: str, message: str, result: dict | None = None) -> None:
        self._write(
            "UPDATE jobs SET status=:status, finished=:now, updated=:now, message=:message, result=:result,"
            " progress=CASE WHEN :status='done' THEN 1 ELSE progress END WHERE id=:id",
            status=status,
            now=time.time(),
            message=message,
            result=json.dumps(result, default=str) if result else None,
            id=job_id,
        )

    def jobs(self, limit: int = 20) -> list[dict]:
        rows = self._rows("SELECT * FROM jobs ORDER BY id DESC LIMIT :limit", limit=limit)
        for row in rows:
            row["result"] = json.loads(row["result"]) if row["result"] else None
        return rows

    def _fail_dead_jobs(self) -> None:
        """A job whose process died can never finish: one of this host whose process is gone,
        or one that has not reported for ``JOB_STALE_S`` (another host's), is marked failed."""
        host = socket.gethostname()
        dead = []
        for job in self._rows("SELECT id, replica, updated, started FROM jobs WHERE status='running'"):
            job_host, _, pid = (job["replica"] or "").split(" on ")[-1].rpartition(":")
            gone = job_host == host and pid.isdigit() and not _alive(int(pid))
            silent = time.time() - (job["updated"] or job["started"]) > JOB_STALE_S
            if gone or silent:
                dead.append(job["id"])
        if dead:
            with self._tx() as db:
                for job_id in dead:
                    self._run(
                        db,
                        "UPDATE jobs SET status='failed', finished=:now,"
                        " message='interrupted: the process stopped during the job' WHERE id=:id AND status='running'",
                        now=time.time(),
                        id=job_id,
                    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
