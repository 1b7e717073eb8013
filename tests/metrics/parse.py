"""Parse Prometheus text from stdin with the prometheus_client parser; print one sample per line as
JSON: [name, {labels}, value, family type]. A parse error exits non-zero."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        print(json.dumps([s.name, s.labels, s.value, family.type]))
