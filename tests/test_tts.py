"""The synthesis threads, with the real voice: what is spoken at once stays within the memory
budget, every chunk lands in the cache, and a broken voice file reaches the waiting thread."""

import hashlib
import shutil
import threading

import pytest

from pipeline.audio.tts import CONCURRENT_TEXT, SpeechCache, Synthesis, chunk_key, resolve_voice
from pipeline.errors import InputError
from pipeline.report import Reporter

TEXTS = [
    "Yes.",
    "A short sentence to start with.",
    "This one is a good deal longer, with a clause, another clause, and a list of things to say.",
    "Then a middling one, for balance.",
    "No.",
    "And one more long sentence, so that two long ones would be tempted to run side by side.",
]


class RecordingSynthesis(Synthesis):
    """Records the text in flight each time a job is taken."""

    def __init__(self, *args):
        self.taken: list[tuple[int, int]] = []
        self.lock = threading.Lock()
        super().__init__(*args)

    def _take(self, voice):
        piper, job = super()._take(voice)
        if job is not None:
            with self.lock:
                self.taken.append((self._in_flight, len(job[1])))
        return piper, job


def test_speaks_every_chunk_within_the_budget(tmp_path):
    voice = resolve_voice("", tmp_path)
    cache = SpeechCache(tmp_path)
    jobs = [(chunk_key(voice, text), text) for text in TEXTS]
    speech = RecordingSynthesis(voice, jobs, cache, Reporter(quiet=True).progress("synthesis", len(jobs)))
    for key, _ in jobs:
        speech.wait(key)
        assert cache.frames(key) > voice.sample_rate // 10
    speech.join()
    budget = CONCURRENT_TEXT * max(len(text) for text in TEXTS)
    assert len(speech.taken) == len(TEXTS)
    assert max(in_flight for in_flight, _ in speech.taken) <= budget
    assert any(in_flight > length for in_flight, length in speech.taken)  # both threads did work


def test_a_broken_voice_reaches_the_waiting_thread(tmp_path):
    voice = resolve_voice("", tmp_path)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model" * 100)
    shutil.copy(voice.config, f"{broken}.json")
    bad = resolve_voice(str(broken), tmp_path)
    key = hashlib.sha256(b"x").hexdigest()
    speech = Synthesis(bad, [(key, "Hello.")], SpeechCache(tmp_path), Reporter(quiet=True).progress("s", 1))
    with pytest.raises(InputError, match="cannot load the voice"):
        speech.wait(key)
    with pytest.raises(InputError):
        speech.join()


def scheduler(pending: list[int], in_flight: int, budget: int) -> Synthesis:
    """A Synthesis with no threads, in a given state: chunks of the given lengths waiting."""
    speech = Synthesis.__new__(Synthesis)
    speech._pending = [(f"k{index}", "x" * size) for index, size in enumerate(pending)]
    speech._in_flight, speech._budget = in_flight, budget
    return speech


def test_the_oldest_chunk_goes_first_when_it_fits():
    assert scheduler([100, 10], in_flight=0, budget=120)._next_fitting() == 0
    assert scheduler([60, 10], in_flight=50, budget=120)._next_fitting() == 0


def test_a_long_chunk_is_passed_over_only_by_chunks_that_leave_it_room():
    # 100 does not fit beside the 50 being spoken; 30 would fit now but not beside 100 later,
    # 10 fits both ways: it is taken, and when the 50 is done the 100 fits beside the 10.
    speech = scheduler([100, 30, 10, 90], in_flight=50, budget=120)
    assert speech._next_fitting() == 2
    # Nothing in the look-ahead leaves it room: the free thread waits instead of starving it.
    assert scheduler([100, 30, 90], in_flight=50, budget=120)._next_fitting() is None
