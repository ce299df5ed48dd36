#!/usr/bin/env bash
# Leave-one-domain-out: a stand-in for "unseen benchmarks" with more than two domains.
# Relabels each dev query's `benchmark` by MMLU's own four subject categories (STEM,
# humanities, social sciences, other; Hendrycks et al.) plus GSM8K, into a temporary file, then
# runs `triage train --cv 5`, whose leave-one-benchmark-out block is then leave-one-domain-out:
# each domain scored by a model trained on the other four. Nothing is written to the repo.
# Usage: bench/router/domains.sh [TRIAGE_BIN [TRAIN_ARGS...]]   (needs jq: scripts/deps.sh --bench)
#   e.g. bench/router/domains.sh build/triage --exclude-category high_school_mathematics
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/triage}
shift || true
data=${TRIAGE_SHARED_DIR:-$root/../shared}/data/outcomes
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stem="abstract_algebra astronomy college_biology college_chemistry college_computer_science
college_mathematics college_physics computer_security conceptual_physics electrical_engineering
elementary_mathematics high_school_biology high_school_chemistry high_school_computer_science
high_school_mathematics high_school_physics high_school_statistics machine_learning"
humanities="formal_logic high_school_european_history high_school_us_history
high_school_world_history international_law jurisprudence logical_fallacies moral_disputes
moral_scenarios philosophy prehistory professional_law world_religions"
social="econometrics high_school_geography high_school_government_and_politics
high_school_macroeconomics high_school_microeconomics high_school_psychology human_sexuality
professional_psychology public_relations security_studies sociology us_foreign_policy"
list() { printf '%s\n' $1 | jq -R . | jq -s .; }

jq -c --argjson stem "$(list "$stem")" --argjson hum "$(list "$humanities")" \
  --argjson soc "$(list "$social")" '
  .benchmark = (if .benchmark != "mmlu" then .benchmark
                elif (.category | IN($stem[])) then "mmlu-stem"
                elif (.category | IN($hum[])) then "mmlu-humanities"
                elif (.category | IN($soc[])) then "mmlu-social"
                else "mmlu-other" end)' \
  "$data/mmlu-dev.jsonl" "$data/gsm8k-dev.jsonl" >"$work/domains.jsonl"

echo "queries per domain:"
jq -r .benchmark "$work/domains.jsonl" | sort | uniq -c
cmd="$bin train --data <mmlu+gsm8k relabelled by domain> --out $work/m.model --cv 5 $*"
echo "command: $cmd"
"$bin" train --data "$work/domains.jsonl" --out "$work/m.model" --cv 5 "$@" 2>/dev/null
echo "length baseline per domain:"
for d in $(jq -r .benchmark "$work/domains.jsonl" | sort -u); do
  jq -c "select(.benchmark == \"$d\")" "$work/domains.jsonl" >"$work/$d.jsonl"
  printf '%-16s ' "$d"
  "$bin" eval --data "$work/$d.jsonl" --router length --json | jq -r '"APGR \(.apgr * 10000 | round / 10000)"'
done
