"""Many issues in one run (a folder, a blog's archive): every file parsed and checked first,
with all problems at once, then published oldest first through `publish_issue` over one
storage session and one speech engine."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.errors import InputError, Problem
from pipeline.publish import publish_issue
from pipeline.report import Reporter
from pipeline.source.document import Issue
from pipeline.source.files import ISSUE_SUFFIXES
from pipeline.source.parse import parse_issue
from pipeline.stages import PublishOptions, PublishReport, check_show_inputs
from pipeline.storage.session import open_storage
from pipeline.timefmt import elapsed as elapsed_text

if TYPE_CHECKING:  # the audio stack is imported only when audio is made
    from pipeline.audio.episode import AudioPlan
    from pipeline.audio.tts import Synthesis


def issue_files(paths: list[Path]) -> list[Path]:
    """The issue files named, a folder standing for every Markdown or text file in it (Jekyll
    names its posts .markdown as often as .md)."""
    files: dict[Path, None] = {}  # ordered, and a set: 20,000 paths took 23 s as a list
    for path in paths:
        found = (
            sorted(p for p in path.iterdir() if p.suffix.lower() in ISSUE_SUFFIXES and p.is_file())
            if path.is_dir()
            else [path]
        )
        files.update(dict.fromkeys(found))
    return list(files)


def preflight(files: list[Path], config: Config) -> list[Issue]:
    """Every issue parsed and checked before anything is synthesised or uploaded; all problems
    at once. Returned in date order, so new episodes are numbered as they were written."""
    problems: list[Problem] = []
    issues: list[Issue] = []
    for path in files:
        try:
            issues.append(parse_issue(path, config.issues.ignore_keys))
        except InputError as exc:
            problems += exc.problems
    slugs: dict[str, Path] = {}
    numbers: dict[int, Path] = {}
    for issue in (i for i in issues if not i.draft):
        if issue.slug in slugs:
            problems.append(
                Problem(str(issue.source), f"slug '{issue.slug}' is also {slugs[issue.slug]}'s; set another 'slug'")
            )
        slugs.setdefault(issue.slug, issue.source)
        if issue.episode is not None and issue.episode in numbers:
            problems.append(Problem(str(issue.source), f"episode {issue.episode} is also {numbers[issue.episode]}'s"))
        if issue.episode is not None:
            numbers.setdefault(issue.episode, issue.source)
    try:
        check_show_inputs(config)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return sorted(issues, key=lambda i: (i.date, i.source.name))


def publish_batch(
    paths: list[Path], config: Config, options: PublishOptions, reporter: Reporter
) -> list[PublishReport]:
    """A batch of issues (a blog's archive, a folder) in one run: checked first, then published oldest first over one
    storage session and one speech engine. The engine speaks every issue's sentences in order,
    so it is on the next issue while this one is mastered and uploaded. Each issue is published
    whole before the next, so a stopped run resumes where it stopped: the published ones are
    unchanged and cost nothing."""
    files = issue_files(paths)
    if not files:
        raise InputError.at(str(paths[0]), f"no issue files ({', '.join(ISSUE_SUFFIXES)}) here")
    issues = preflight(files, config)
    todo = [i for i in issues if not i.draft]
    plans = plan_run_audio(todo, config, options) if options.audio else {}
    reports = []
    started, total = time.monotonic(), sum(i.word_count for i in todo) or 1
    done, minutes = 0, 0.0
    session = open_storage(config, dry_run=options.dry_run) if options.upload else contextlib.nullcontext(None)
    with run_speech(plans, options, reporter) as speech, session as storage:  # speaking while the store starts
        for issue in issues:
            shared = (plans[issue.slug], speech) if speech and not issue.draft else None
            report = publish_issue(
                issue.source, config, options, reporter, storage=storage, parsed=issue, shared=shared
            )
            reports.append(report)
            if issue.draft:
                continue
            done += issue.word_count
            minutes += (report.audio or {}).get("duration_s", 0) / 60
            elapsed = time.monotonic() - started
            left = elapsed / done * (total - done) if done else 0
            count = sum(1 for r in reports if not r.skipped)
            reporter.info(
                f"progress {count} of {len(todo)} issues, {minutes:.1f} min of audio, "
                f"{elapsed_text(elapsed)} elapsed, about {elapsed_text(left)} left"
            )
    return reports


def plan_run_audio(issues: list[Issue], config: Config, options: PublishOptions) -> dict[str, AudioPlan]:
    """Each issue's narration and chunks to speak, all problems at once (the pre-flight's audio half)."""
    from pipeline.audio.episode import plan_audio

    plans, problems = {}, []
    for issue in issues:
        try:
            plans[issue.slug] = plan_audio(issue, config, options.build_dir / ".cache", options.force)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return plans


@contextlib.contextmanager
def run_speech(plans: dict[str, AudioPlan], options: PublishOptions, reporter: Reporter) -> Iterator[Synthesis | None]:
    """One speech engine for every issue's missing sentences, in publishing order; stopped
    after the sentence in hand if the run fails."""
    jobs = [job for plan in plans.values() for job in plan.missing.items()]
    if options.dry_run or not jobs:
        yield None
        return
    from pipeline.audio.tts import SpeechCache, Synthesis

    first = next(iter(plans.values()))
    speech = Synthesis(
        first.voice, jobs, SpeechCache(options.build_dir / ".cache"), reporter.progress("synthesis", len(dict(jobs)))
    )
    try:
        yield speech
    except BaseException:
        speech.stop()
        raise
    speech.join()
