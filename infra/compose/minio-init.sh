#!/bin/sh
# minio-init (docker-compose.yml): create the landing bucket named in ECOHUB_LANDING__URL and an
# S3 user that may only read and write that bucket; the hub uses that user, never the root one.
# Idempotent: every step tolerates "already exists", so it runs on every `docker compose up`.
set -eu

case "${ECOHUB_LANDING__URL}" in
  s3://*) ;;
  *) echo "minio-init: ECOHUB_LANDING__URL must be s3://bucket[/prefix], got ${ECOHUB_LANDING__URL}" >&2
     exit 2 ;;
esac
bucket="${ECOHUB_LANDING__URL#s3://}"
bucket="${bucket%%/*}"
user="${ECOHUB_LANDING__S3_ACCESS_KEY}"
policy="ecohub-landing-rw"

mc alias set hub http://minio:9000 "${MINIO_ROOT_USER}" "${MINIO_ROOT_PASSWORD}" >/dev/null
mc mb --ignore-existing "hub/${bucket}"

cat > /tmp/policy.json <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::${bucket}"]},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
     "Resource": ["arn:aws:s3:::${bucket}/*"]}
  ]
}
JSON
mc admin policy create hub "${policy}" /tmp/policy.json >/dev/null
# `user add` on an existing user sets its secret key again: this is how a rotated key lands.
mc admin user add hub "${user}" "${ECOHUB_LANDING__S3_SECRET_KEY}" >/dev/null
if ! mc admin user info hub "${user}" | grep -q "${policy}"; then
  mc admin policy attach hub "${policy}" --user "${user}" >/dev/null
fi
echo "minio-init: bucket ${bucket} ready; the landing user has policy ${policy}"
