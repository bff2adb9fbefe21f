"""When the dashboard benchmark counts a page as drawn: after a whole run of the page's script
that started after the navigation, read from the messages Streamlit's server sends."""

from __future__ import annotations

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.dashboard_bench import ScriptRuns


def _started() -> bytes:
    message = ForwardMsg()
    message.new_session.page_script_hash = "page"
    return message.SerializeToString()


def _finished(status: int) -> bytes:
    message = ForwardMsg()
    message.script_finished = status  # type: ignore[assignment]
    return message.SerializeToString()


def _delta() -> bytes:
    message = ForwardMsg()
    message.delta.new_element.markdown.body = "Real time"
    return message.SerializeToString()


def test_a_whole_run_counts_once_it_has_finished() -> None:
    runs = ScriptRuns()
    for payload in (_started(), _delta()):
        runs._received(payload)
    assert (runs.started, runs.last_finished) == (1, 0)
    runs._received(_finished(ForwardMsg.FINISHED_SUCCESSFULLY))
    assert runs.last_finished == 1


def test_a_fragment_refreshing_itself_or_a_run_cut_short_does_not_count() -> None:
    runs = ScriptRuns()
    runs._received(_started())
    runs._received(_finished(ForwardMsg.FINISHED_SUCCESSFULLY))
    for status in (
        ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ForwardMsg.FINISHED_EARLY_FOR_RERUN,
    ):
        runs._received(_started())
        runs._received(_finished(status))
    assert (runs.started, runs.last_finished) == (3, 1)


def test_a_run_that_started_before_a_click_does_not_stand_for_the_page_it_opens() -> None:
    runs = ScriptRuns()
    runs._received(_started())  # a rerun of the page the tab is on, still running
    before_click = runs.started
    runs._received(_finished(ForwardMsg.FINISHED_SUCCESSFULLY))
    assert runs.last_finished <= before_click
    runs._received(_started())  # the page the click opens
    runs._received(_finished(ForwardMsg.FINISHED_SUCCESSFULLY))
    assert runs.last_finished > before_click


def test_text_frames_are_not_the_app_s_messages() -> None:
    runs = ScriptRuns()
    runs._received("ping")
    assert (runs.started, runs.last_finished) == (0, 0)
