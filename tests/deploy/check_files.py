"""Structural checks of deploy/ that promtool and systemd-analyze do not cover.

Every metric a rule or a dashboard panel uses must be one `pgkeeper serve` exposes (a
typo would make an alert that never fires); the Kubernetes manifests must parse and have
the probes, annotations and secret keys deploy/README.md promises.
"""
import json
import pathlib
import re
import sys
import tomllib

# What `pgkeeper serve` exposes (docs: deploy/README.md). `up` is Prometheus' own.
METRICS = {
    "pgkeeper_up", "pgkeeper_database_up",
    "pgkeeper_backup_last_success_timestamp_seconds", "pgkeeper_backup_last_duration_seconds",
    "pgkeeper_backup_last_size_bytes", "pgkeeper_backup_previous_size_bytes",
    "pgkeeper_backup_failures_total", "pgkeeper_backups",
    "pgkeeper_job_last_success_timestamp_seconds", "pgkeeper_job_last_run_timestamp_seconds",
    "pgkeeper_job_failures_total", "pgkeeper_job_running",
    "pgkeeper_wal_archive_lag_seconds", "pgkeeper_wal_archive_lag_bytes",
    "pgkeeper_wal_last_archived_timestamp_seconds", "pgkeeper_wal_archive_failing",
    "pgkeeper_wal_archive_failures_total",
    "pgkeeper_drill_last_timestamp_seconds", "pgkeeper_drill_last_success", "pgkeeper_drill_restore_seconds",
    "pgkeeper_migration_version", "pgkeeper_migration_dirty", "pgkeeper_schema_differences",
    "pgkeeper_repository_size_bytes",
    "pgkeeper_recoverable_window_start_timestamp_seconds", "pgkeeper_recoverable_window_end_timestamp_seconds",
    "pgkeeper_scheduler_active", "pgkeeper_tls_certificate_expiry_timestamp_seconds",
}

errors = []


def fail(msg):
    errors.append(msg)


def check_metrics(where, text):
    for name in set(re.findall(r"\bpgkeeper_[a-z_]+", text)):
        if name not in METRICS:
            fail(f"{where}: unknown metric {name}")


def load_yaml_docs(path):
    try:
        import yaml
    except ImportError:
        # Without PyYAML: the minimum that catches a broken file (tabs, no kind).
        text = path.read_text()
        if "\t" in text:
            fail(f"{path}: contains a tab")
        docs = []
        for part in text.split("\n---"):
            kind = re.search(r"^kind: *(\S+)", part, re.M)
            docs.append({"kind": kind.group(1) if kind else None, "_text": part})
        return docs
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def main(deploy):
    deploy = pathlib.Path(deploy)
    rules = (deploy / "prometheus/pgkeeper-rules.yml").read_text()
    check_metrics("pgkeeper-rules.yml", rules)
    for alert in re.findall(r"- alert: (\w+)", rules):
        if f"#{alert.lower()}" not in rules:
            fail(f"pgkeeper-rules.yml: {alert} has no runbook_url to docs/runbooks.md#{alert.lower()}")
    runbooks = (deploy.parent / "docs/runbooks.md").read_text()
    for alert in re.findall(r"- alert: (\w+)", rules):
        if f"## {alert}" not in runbooks:
            fail(f"docs/runbooks.md: no section for {alert}")
        if f"alertname: {alert}" not in (deploy / "prometheus/pgkeeper-rules.test.yml").read_text():
            fail(f"pgkeeper-rules.test.yml: {alert} is not tested")

    dash = json.loads((deploy / "grafana/pgkeeper-dashboard.json").read_text())
    names = [v["name"] for v in dash["templating"]["list"]]
    if "datasource" not in names:
        fail("dashboard: no datasource variable")
    ids = set()
    for p in dash["panels"]:
        if p["id"] in ids:
            fail(f"dashboard: duplicate panel id {p['id']}")
        ids.add(p["id"])
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"dashboard panel {p['title']}: not on the datasource variable")
        for t in p.get("targets", []):
            check_metrics(f"dashboard panel {p['title']}", t["expr"])
    want = ["last backup", "size", "duration", "wal", "drill", "migration", "recoverable window"]
    titles = " | ".join(p["title"].lower() for p in dash["panels"])
    for w in want:
        if w not in titles:
            fail(f"dashboard: no panel about {w}")

    config = tomllib.loads((deploy / "pgkeeper.example.toml").read_text())
    for job in config["serve"]["jobs"]:
        if job["command"] not in ("backup", "expire", "verify", "drill"):
            fail(f"pgkeeper.example.toml: job {job['name']}: unknown command {job['command']}")
        if len(job["schedule"].split()) != 5:
            fail(f"pgkeeper.example.toml: job {job['name']}: schedule is not 5 cron fields")

    kinds = {}
    for path in sorted((deploy / "kubernetes").glob("*.yaml")):
        for doc in load_yaml_docs(path):
            if not doc.get("kind"):
                fail(f"{path.name}: a document without kind")
                continue
            kinds[doc["kind"]] = doc
    for kind in ("Secret", "ConfigMap", "Deployment", "Service", "CronJob"):
        if kind not in kinds:
            fail(f"kubernetes: no {kind}")
    if "_text" not in kinds.get("Deployment", {"_text": ""}):
        container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        if container["livenessProbe"]["httpGet"]["path"] != "/health":
            fail("deployment: liveness probe is not /health")
        if container["readinessProbe"]["httpGet"]["path"] != "/ready":
            fail("deployment: readiness probe is not /ready")
        if container["args"][0] != "serve":
            fail("deployment: does not run serve")
        ann = kinds["Service"]["metadata"]["annotations"]
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "9187":
            fail("service: prometheus.io annotations missing")
        secret = kinds["Secret"]["stringData"]
        for key in ("DATABASE_URL", "PGKEEPER_ENCRYPTION_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if key not in secret:
                fail(f"secret: no {key}")
        toml_text = kinds["ConfigMap"]["data"]["pgkeeper.toml"]
        cm = tomllib.loads(toml_text)
        if not cm["repository"]["url"].startswith("s3://"):
            fail("configmap: repository is not on S3")
        cron = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        if cron["args"][0] != "backup":
            fail("cronjob: does not run backup")

    if errors:
        print("\n".join(errors))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
