"""How long `haven run` waits before starting a process again, and how it names an exit."""
import signal

from haven.supervisor import Backoff, describe_exit


def test_the_wait_doubles_while_a_process_keeps_exiting_up_to_the_longest():
    backoff = Backoff(first=1, longest=30, stable_after=30)
    assert [backoff.after_exit(ran_for=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_had_been_up_for_a_while_is_started_again_after_the_first_wait():
    backoff = Backoff(first=1, longest=30, stable_after=30)
    for _ in range(5):
        backoff.after_exit(ran_for=2)
    assert backoff.after_exit(ran_for=3600) == 1
    assert backoff.after_exit(ran_for=2) == 2


def test_an_exit_is_named_by_its_code_or_its_signal():
    assert describe_exit(2) == "exit code 2"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"
