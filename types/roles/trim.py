#!/usr/bin/env python3
"""Write predefined.txt from a checkout of github.com/iann0036/iam-dataset.

    python3 types/roles/trim.py PATH/TO/iam-dataset > types/roles/predefined.txt

Keeps the roles listed in ROLES, each with its `includedPermissions` from
`gcp/roles/<role>.json` (a dump of `gcloud iam roles describe`). The basic
roles (owner, editor, viewer) hold thousands of permissions: they are cut to
the services in SERVICES, the only ones autosre-deploy and its emulator use.
"""
import json
import pathlib
import sys

ROLES = """
aiplatform.user artifactregistry.admin artifactregistry.createOnPushWriter
artifactregistry.reader artifactregistry.writer bigquery.dataViewer
cloudbuild.builds.builder cloudbuild.builds.editor cloudbuild.builds.viewer
cloudtrace.agent cloudtrace.user datastore.user editor iam.serviceAccountAdmin
iam.serviceAccountTokenCreator iam.serviceAccountUser iap.admin
iap.httpsResourceAccessor logging.logWriter logging.viewer monitoring.metricWriter
monitoring.viewer owner resourcemanager.projectIamAdmin run.admin run.builder
run.developer run.invoker run.sourceDeveloper run.viewer secretmanager.admin
secretmanager.secretAccessor secretmanager.secretVersionAdder
secretmanager.secretVersionManager secretmanager.viewer serviceusage.serviceUsageAdmin
serviceusage.serviceUsageConsumer
storage.admin storage.objectAdmin storage.objectCreator storage.objectViewer
telemetry.writer viewer
""".split()

BASIC = {"owner", "editor", "viewer"}
SERVICES = {
    "artifactregistry", "cloudbuild", "iam", "iap", "resourcemanager", "run",
    "secretmanager", "serviceusage", "storage",
}


def main(root):
    print("# Permissions of Google's predefined IAM roles: see README.md beside this file.")
    for role in sorted(ROLES):
        data = json.loads((pathlib.Path(root) / "gcp" / "roles" / f"{role}.json").read_text())
        perms = sorted(set(data["includedPermissions"]))
        if role in BASIC:
            perms = [p for p in perms if p.split(".")[0] in SERVICES]
        print(f"roles/{role}")
        for p in perms:
            print(f"  {p}")


if __name__ == "__main__":
    main(sys.argv[1])
