"""The short subset of the fault suite that `make test` runs: a 3-second
Redis outage under load, retries of the final step, a broken menu reloaded
under load, hotlined SIGKILLed under load, and a help request no replica
holds surviving the loss of its master. `make test-faults` runs the
full scenarios (faults_suite.py)."""
import os
import sys
from functools import partial

sys.path.insert(0, os.path.dirname(__file__))
from faults_suite import (scenario_redis_killed, scenario_retries,  # noqa: E402
                          scenario_sighup_broken_menu,
                          scenario_hotlined_sigkill,
                          scenario_unreplicated_filing)
from harness import run  # noqa: E402

if __name__ == "__main__":
    run([
        ("quick_redis_killed_3s", partial(scenario_redis_killed, outage=3.0,
                                          seconds=6.0)),
        ("quick_retries", scenario_retries),
        ("quick_sighup_broken_menu", partial(scenario_sighup_broken_menu,
                                             seconds=4.0)),
        ("quick_hotlined_sigkill", partial(scenario_hotlined_sigkill,
                                           seconds=5.0)),
        ("quick_unreplicated_filing", scenario_unreplicated_filing),
    ])
