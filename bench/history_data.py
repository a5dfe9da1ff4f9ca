"""A big job history for bench/history.py, made by PostgreSQL itself (generate_series).

Row n of N: the first 10,000 belong to the heavy user, the rest spread over 98 users; the
task, status, timings, error and parameters are drawn from hashes of n, so every fill of
the same size is the same. Active statuses (queued, started, scheduled, deferred) only occur
in the last day, as they would; about 8% failed, with an error code and a message.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

HEAVY = "heavy@bench.example"
HEAVY_JOBS = 10_000
USERS = 100
PROJECTS_PER_USER = 10

USERS_SQL = """
INSERT INTO users (email, password_hash, is_admin)
SELECT CASE g WHEN 1 THEN 'admin@bench.example' WHEN 2 THEN :heavy
              ELSE 'user' || g || '@bench.example' END,
       CASE WHEN g <= 2 THEN :hash ELSE '!' END, g = 1
FROM generate_series(1, :users) AS g
"""

PROJECTS_SQL = """
INSERT INTO projects (user_id, title, topic, format, voice, theme, music_level, burn_subtitles)
SELECT u.id, 'Project ' || p, 'Topic ' || p, 'landscape-720', 'silent', '{}', 0, true
FROM users u, generate_series(1, :per_user) AS p
"""

# r1..r4: independent uniform numbers in [0, 1) from row n (hash-based, repeatable).
JOBS_SQL = """
WITH ids AS (SELECT array_agg(id ORDER BY id) AS users FROM users WHERE email <> :heavy
                                                               AND NOT is_admin),
base AS (
  SELECT n,
    (abs(hashtext(n || 'a')) % 1000000) / 1e6 AS r1,
    (abs(hashtext(n || 'b')) % 1000000) / 1e6 AS r2,
    (abs(hashtext(n || 'c')) % 1000000) / 1e6 AS r3,
    (abs(hashtext(n || 'd')) % 1000000) / 1e6 AS r4,
    CASE WHEN n <= :heavy_jobs THEN (SELECT id FROM users WHERE email = :heavy)
         ELSE (SELECT users[1 + n % array_length(users, 1)] FROM ids) END AS user_id
  FROM generate_series(1, :rows) AS n
),
shaped AS (
  SELECT *,
    CASE WHEN r1 < .30 THEN 'countdown' WHEN r1 < .55 THEN 'trigger-test'
         WHEN r1 < .60 THEN 'fail-test' WHEN r1 < .70 THEN 'write-script'
         WHEN r1 < .80 THEN 'narrate' WHEN r1 < .90 THEN 'render-scenes'
         ELSE 'assemble-video' END AS task,
    -- Most rows are weeks old; 1% are from the last day (where active jobs live).
    CASE WHEN r4 < .01 THEN now() - r3 * interval '1 day'
         ELSE now() - interval '1 day' - r3 * interval '89 days' END AS created
  FROM base
),
stated AS (
  SELECT *,
    CASE WHEN created > now() - interval '1 day' AND r2 < .30 THEN
           (ARRAY['queued', 'started', 'scheduled', 'deferred'])[1 + (n % 4)]
         WHEN r2 < .80 THEN 'finished' WHEN r2 < .88 THEN 'failed'
         WHEN r2 < .93 THEN 'canceled' ELSE 'stopped' END AS status,
    r3 * 30 AS wait_s, 1 + r4 * 120 AS run_s
  FROM shaped
)
INSERT INTO background_jobs (id, task, queue, status, params, result, error, error_code,
  attempt, progress, stage, user_id, project_id, pipeline_id, pipeline_step, held,
  created_at, enqueued_at, started_at, ended_at, updated_at)
SELECT md5(n::text || 'job')::uuid, task,
  CASE WHEN task IN ('countdown', 'trigger-test', 'fail-test') THEN 'default' ELSE 'video' END,
  status,
  CASE task WHEN 'countdown' THEN jsonb_build_object('steps', 1 + n % 60)
            WHEN 'trigger-test' THEN jsonb_build_object('message', 'hello ' || n % 10000)
            WHEN 'fail-test' THEN jsonb_build_object('message', 'Deliberate failure')
            ELSE jsonb_build_object('project_id', 0) END,
  CASE WHEN status = 'finished' THEN jsonb_build_object('ok', true) END,
  CASE WHEN status = 'failed' THEN (ARRAY['The narration service timed out after 60 s',
         'Step ' || n % 10 || ' failed: the frame could not be drawn',
         'ffmpeg exited with status 1', 'The worker running it disappeared (abandoned).',
         'Killed: out of memory'])[1 + n % 5]
       WHEN status = 'stopped' THEN 'Stopped on request while running.' END,
  CASE WHEN status = 'failed' THEN (ARRAY['timeout', 'task_error', 'task_error', 'abandoned',
                                          'killed'])[1 + n % 5] END,
  CASE WHEN status IN ('queued', 'deferred') THEN 0 ELSE 1 + (n % 7 = 0)::int END,
  CASE WHEN status = 'finished' THEN 100 WHEN status IN ('started', 'stopped')
       THEN (r4 * 100)::int ELSE 0 END,
  CASE WHEN status = 'started' THEN 'Step ' || 1 + n % 10 || ' of 10' END,
  user_id, NULL, NULL, NULL, false,
  created, created + interval '5 ms',
  CASE WHEN status NOT IN ('queued', 'deferred', 'scheduled', 'canceled')
       THEN created + wait_s * interval '1 second' END,
  CASE WHEN status IN ('finished', 'failed', 'stopped')
       THEN created + (wait_s + run_s) * interval '1 second'
       WHEN status = 'canceled' THEN created + wait_s * interval '1 second' END,
  created
FROM stated
"""

# Render stages belong to one of their owner's projects.
LINK_PROJECTS_SQL = """
UPDATE background_jobs j SET project_id = p.id, params = jsonb_build_object('project_id', p.id),
  pipeline_id = md5(j.user_id || '-' || p.id || '-' || (extract(epoch FROM j.created_at)::bigint
                                                        / 3600))::uuid
FROM (SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id) - 1 AS k
      FROM projects) p
WHERE j.queue = 'video' AND p.user_id = j.user_id
  AND p.k = abs(hashtext(j.id::text)) % :per_user
"""


def fill(database_url: str, rows: int, password: str) -> bool:
    """Fill the history unless it holds `rows` jobs already; whether it filled. Its own
    engine: the app's has a statement timeout, and this takes a while."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if conn.scalar(text("SELECT count(*) FROM background_jobs")) == rows:
            return False
        conn.execute(text("TRUNCATE background_jobs, projects, users RESTART IDENTITY CASCADE"))
        conn.execute(text(USERS_SQL), {"users": USERS, "heavy": HEAVY,
                                       "hash": generate_password_hash(password)})
        conn.execute(text(PROJECTS_SQL), {"per_user": PROJECTS_PER_USER})
        conn.execute(text(JOBS_SQL), {"rows": rows, "heavy": HEAVY, "heavy_jobs": HEAVY_JOBS})
        conn.execute(text(LINK_PROJECTS_SQL), {"per_user": PROJECTS_PER_USER})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE background_jobs"))
        conn.execute(text("VACUUM ANALYZE projects"))
        conn.execute(text("VACUUM ANALYZE users"))
    engine.dispose()
    return True
