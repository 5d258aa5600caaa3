"""The entry point: one exporter on prometheus_client's global registry.

Installed, it loads on the first ``modelops.connect()`` (``MODELOPS_PLUGINS`` chooses which
plugins load: name it ``prometheus``).
"""

from modelops_prometheus.exporter import PrometheusExporter

#: The exporter the ``modelops`` entry point registers.
exporter = PrometheusExporter()
