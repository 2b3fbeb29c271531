#!/usr/bin/env bash
# What picocli would cost the waiter's start-up (issue 14): the waiter's flags parsed by its own
# parser and by picocli, each in a fresh JVM with an AppCDS archive of its own classes (as in the
# image) and with the JDK's default archive only; 20 starts each, p50/min/max wall time.
#   benchmarks/waiter/parser-cost.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$root/waiter/target/parser-cost"
mvn -B -q -f "$root/pom.xml" -pl waiter -am package dependency:build-classpath -DskipTests \
  -Dimages.skip -Dmdep.outputFile="$work.classpath" >&2
mvn -B -q -f "$root/pom.xml" dependency:get -Dartifact=info.picocli:picocli:4.7.7 >&2
picocli="$HOME/.m2/repository/info/picocli/picocli/4.7.7/picocli-4.7.7.jar"
waiter="$root/waiter/target/migrate-gate-waiter.jar:$(cat "$work.classpath")"
rm -rf "$work" && mkdir -p "$work/own" "$work/picocli"
javac -d "$work/picocli" -cp "$picocli" "$root/benchmarks/waiter/parser-cost/PicocliParse.java"
javac -d "$work/own" -cp "$waiter" "$root/benchmarks/waiter/parser-cost/OwnParse.java"
(cd "$work/own" && jar cf ../own.jar .) && (cd "$work/picocli" && jar cf ../picocli.jar .)
args=(--namespace shop --job migrate --timeout 10m)
java -XX:ArchiveClassesAtExit="$work/own.jsa" -cp "$work/own.jar:$waiter" OwnParse "${args[@]}" >/dev/null
java -XX:ArchiveClassesAtExit="$work/picocli.jsa" -cp "$work/picocli.jar:$picocli" PicocliParse "${args[@]}" >/dev/null
measure() {
  local name=$1; shift
  for _ in $(seq 1 20); do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000))
  done | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "| %s | %d | %d | %d |\n", n, a[int(NR/2)], a[1], a[NR]}'
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| parser | p50 ms | min | max |"
echo "|---|---|---|---|"
measure "own, AppCDS" java -XX:TieredStopAtLevel=1 -XX:SharedArchiveFile="$work/own.jsa" -cp "$work/own.jar:$waiter" OwnParse "${args[@]}"
measure "picocli, AppCDS" java -XX:TieredStopAtLevel=1 -XX:SharedArchiveFile="$work/picocli.jsa" -cp "$work/picocli.jar:$picocli" PicocliParse "${args[@]}"
measure "own, JDK archive only" java -XX:TieredStopAtLevel=1 -cp "$work/own.jar:$waiter" OwnParse "${args[@]}"
measure "picocli, JDK archive only" java -XX:TieredStopAtLevel=1 -cp "$work/picocli.jar:$picocli" PicocliParse "${args[@]}"
for p in own picocli; do
  if [ $p = own ]; then cp="$work/own.jar:$waiter"; main=OwnParse; else cp="$work/picocli.jar:$picocli"; main=PicocliParse; fi
  echo "classes loaded, $p: $(java -Xlog:class+load -cp "$cp" $main "${args[@]}" | grep -c 'class,load')"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
