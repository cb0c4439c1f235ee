#!/bin/bash
# kafka (docker-compose.yml): start the broker with SASL/SCRAM and ACLs.
#
# The image's own entrypoint formats the KRaft storage without SCRAM credentials, but the broker
# authenticates its own connections with the admin's SCRAM credential before any other user can
# be created, so it must be in the storage from the start (`kafka-storage format --add-scram`).
# So this script renders server.properties from the KAFKA_* variables the way the image does
# (KAFKA_A_B -> a.b, __ -> _, ___ -> -), adds the admin's JAAS logins, formats the storage once
# with the admin's credential, and runs the broker. The other users and the ACLs are created by
# kafka-init (infra/compose/kafka_init.py) as the admin.
set -euo pipefail
umask 077

kafka_home="${KAFKA_HOME:-/opt/kafka}"  # the image's; another for a run outside the image
admin="${KAFKA_ADMIN_USER:-ecohub-admin}"
password="${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"
props=/tmp/ecohub-server.properties
client=/tmp/ecohub-admin.properties

{
  echo "# rendered by /ecohub/kafka-start.sh at container start"
  while IFS='=' read -r name value; do
    case "$name" in
      KAFKA_HOME|KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JMX_OPTS|KAFKA_LOG4J_OPTS) ;;
      KAFKA_ADMIN_USER|KAFKA_ADMIN_PASSWORD) ;;
      KAFKA_*)
        key="${name#KAFKA_}"; key="${key,,}"
        key="${key//___/-}"; key="${key//__/@}"; key="${key//_/.}"; key="${key//@/_}"
        printf '%s=%s\n' "$key" "$value" ;;
    esac
  done < <(env)
  scram="org.apache.kafka.common.security.scram.ScramLoginModule"
  plain="org.apache.kafka.common.security.plain.PlainLoginModule"
  # INTERNAL carries the broker's own connections: it logs in as the admin
  printf 'listener.name.internal.scram-sha-512.sasl.jaas.config=%s required username="%s" password="%s";\n' \
    "$scram" "$admin" "$password"
  printf 'listener.name.host.scram-sha-512.sasl.jaas.config=%s required;\n' "$scram"
  # CONTROLLER: PLAIN for the admin only (the controller authenticates before reading metadata)
  printf 'listener.name.controller.plain.sasl.jaas.config=%s required username="%s" password="%s" user_%s="%s";\n' \
    "$plain" "$admin" "$password" "$admin" "$password"
  printf 'super.users=User:%s\n' "$admin"
} > "$props"

# the admin's client settings, for the health check
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=%s required username="%s" password="%s";\n' \
  "org.apache.kafka.common.security.scram.ScramLoginModule" "$admin" "$password" > "$client"

if [ ! -f "${KAFKA_LOG_DIRS}/meta.properties" ]; then
  "$kafka_home/bin/kafka-storage.sh" format --cluster-id "${CLUSTER_ID}" --config "$props" \
    --add-scram "SCRAM-SHA-512=[name=${admin},password=${password}]" --ignore-formatted
fi
exec "$kafka_home/bin/kafka-server-start.sh" "$props"
