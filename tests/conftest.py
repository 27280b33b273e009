"""Detection tests need mmdet with the full mmcv (compiled ops, `make install-det`); without it they are not
collected, and the report header says so."""


def _detection_available() -> bool:
    try:
        import mmcv.ops  # noqa: F401
        import mmdet  # noqa: F401
    except Exception:  # ImportError, or mmcv-lite's missing compiled extension
        return False
    return True


DETECTION = _detection_available()
collect_ignore_glob = [] if DETECTION else ["test_det_*.py"]


def pytest_report_header(config):
    if not DETECTION:
        return "detection tests not collected: mmcv.ops / mmdet unavailable (run `make install-det`)"
    return None
