# Sourced by bin/publish-embeddings and bin/dead-letters: runs a tool's main class on jobs/tools' class path
# (the tools, the schemas, kafka-clients, the REST client; no Flink runtime). Builds it once (when
# jobs/tools/target/tools.classpath is missing); REBUILD=1 builds again.
# The build takes -am (the tools' modules and, for the tools' tests, index-job and what it needs): several minutes the
# first time.
run_tool() {
  local main="$1"; shift
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  if [ "${REBUILD:-0}" = "1" ] || [ ! -f jobs/tools/target/tools.classpath ] || [ ! -d jobs/tools/target/classes ]; then
    echo "building the tools (mvn -DskipTests -pl jobs/tools -am package)..." >&2
    mvn -B -q -ntp -DskipTests -pl jobs/tools -am package >&2
  fi
  source bin/java-opens.sh
  local cp="jobs/tools/target/classes:$(cat jobs/tools/target/tools.classpath)"
  # -XX:TieredStopAtLevel=1: a short-lived command gains more from fast start-up than from C2.
  exec java -Xmx${TOOLS_HEAP:-2g} -XX:TieredStopAtLevel=1 ${JAVA_OPTS:-} $OPENS \
    -Dlog4j.configurationFile=jobs/tools/src/main/resources/log4j2-tools.properties -cp "$cp" "$main" "$@"
}
