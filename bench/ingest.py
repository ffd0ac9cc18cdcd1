"""Benchmark: the full ingest against embedding alone, and the incremental re-ingests.

    .venv/bin/python bench/ingest.py [--pages 2000] [--seed 0] [--edit-fraction 0.01]
                                     [--fake | --hashed-vectors] [--attachments N]
    .venv/bin/python bench/ingest.py --backends torch,torch-bf16,auto [--rounds 2] [--squad]
                                     (see bench/ingest_backends.py)

An emulator subprocess (`kb emulator --pages N --no-sample`) serves N generated pages; the ingest
runs in this process with the bundled model (or, with --fake, the hashed fake, to time the plumbing).
Prints, for the same chunks and the same embedder:
  - full ingest from an empty index (emulator -> PyAirbyte -> ledger -> clean/chunk -> embed -> Chroma);
  - embed-only throughput (the ledger's chunk texts in memory, `embed_documents` batched, no I/O);
  - their ratio on the "embed-only ratio" line (goal >= 0.9);
  - a no-change re-ingest: time as % of the full ingest (goal <= 2%) and chunks embedded (goal 0);
  - a re-ingest after editing one paragraph in 1% of the pages: time % (goal <= 3%), chunks embedded
    against the chunks of those pages;
  - peak RSS of this process (goal: 2 GB at 20,000 pages).
--hashed-vectors measures memory at sizes this CPU cannot embed in an afternoon: the bundled model
is loaded (its weights resident, its tokenizer sizing every chunk as in a real run) but vectors
come from a hash (same 384 dimensions), so everything that grows with the site (pull, ledger,
Chroma's index, the chunk pipeline) is real; only the model's per-batch activations are not
(bounded by the batch size: measure them with a real run at a smaller N).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.config import load_settings  # noqa: E402
from ingest.storage.chunks import LedgerChunks  # noqa: E402
from ingest.storage.ledger import Ledger  # noqa: E402


def start_emulator(pages: int, seed: int, sample: bool = False,
                   corpus: Path | None = None) -> tuple[subprocess.Popen[str], dict[str, str]]:
    kb = ROOT / ".venv" / "bin" / "kb"
    served = ["--corpus", str(corpus)] if corpus else []
    proc = subprocess.Popen([str(kb), "emulator", "--sample" if sample else "--no-sample",
                             "--pages", str(pages), "--seed", str(seed), *served],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    if "domain" not in fields:
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return proc, fields


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process (all threads): less swayed by other users of the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class HashedVectors:
    """The real embedder's identity, window and token counts; hashed vectors of its dimensions."""

    def __init__(self, inner: Any) -> None:
        from ingest.index.embed import FakeEmbedder

        self.inner, self.fake = inner, FakeEmbedder(dimensions=inner.dimensions)
        self.model_id, self.dimensions, self.max_tokens = inner.model_id, inner.dimensions, inner.max_tokens
        self.count_tokens = inner.count_tokens

    def embed_documents(self, texts: Any) -> Any:
        return self.fake.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        return self.fake.embed_query(text)


class TimedEmbedder:
    """The embedder, with the wall time spent in embed_documents summed up."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id, self.dimensions, self.max_tokens = inner.model_id, inner.dimensions, inner.max_tokens
        self.count_tokens = inner.count_tokens
        self.seconds = 0.0

    def embed_documents(self, texts: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)


class PhasePeaks:
    """Resident memory sampled every 0.25 s, the highest seen per phase of the ingest ("pull",
    "index"), from the progress callback: where a peak happens, not only how high."""

    def __init__(self) -> None:
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def progress(self, done: int, total: int | None, what: str) -> None:
        self.phase = what.split(":", 1)[0]

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss_mb())

    def __enter__(self) -> PhasePeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def __str__(self) -> str:
        return ", ".join(f"{phase} {mb:.0f} MB" for phase, mb in self.peaks.items())


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def timed_ingest(settings: Any, embedder: Any) -> tuple[float, Any]:
    from ingest.pipeline import ingest

    started, cpu = time.perf_counter(), cpu_s()
    with PhasePeaks() as peaks:
        report = ingest(settings, embedder=embedder, progress=peaks.progress)
    timed_ingest.cpu = cpu_s() - cpu  # type: ignore[attr-defined]
    timed_ingest.peaks = peaks  # type: ignore[attr-defined]
    return time.perf_counter() - started, report


def embed_only(settings: Any, embedder: Any) -> tuple[float, int]:
    """The ledger's chunk texts, in memory first, then embedded batched: no I/O in the timing."""
    from ingest.records import embed_text

    with Ledger(settings.data_dir) as ledger:
        texts = [embed_text(h, t) for _, h, t in LedgerChunks(ledger).iter_rows()]
    started, cpu = time.perf_counter(), cpu_s()
    for start in range(0, len(texts), 512):
        embedder.embed_documents(texts[start:start + 512])
    embed_only.cpu = cpu_s() - cpu  # type: ignore[attr-defined]
    return time.perf_counter() - started, len(texts)


def edit_pages(settings: Any, fields: dict[str, str], fraction: float) -> tuple[int, int]:
    """Change one paragraph in `fraction` of the pages; (pages edited, chunks those pages had)."""
    from emulator.admin import EmulatorAdmin

    with Ledger(settings.data_dir) as ledger:
        rows = [(page.id, page.body_html) for page in ledger.iter_pages()]
        step = max(1, round(1 / fraction))
        chosen = [(pid, body) for i, (pid, body) in enumerate(rows) if i % step == 0]
        held = LedgerChunks(ledger).chunks_of([pid for pid, _ in chosen])
        chunks = sum(len(held[pid]) for pid, _ in chosen)
    with EmulatorAdmin(f"https://{fields['domain']}", ca_path=fields.get("ca")) as admin:
        for n, (pid, body) in enumerate(chosen):
            paragraphs = re.findall(r"<p>(.*?)</p>", body, flags=re.S)
            if paragraphs:
                target = paragraphs[len(paragraphs) // 2]
                body = body.replace(target, f"Benchmark edit {n}: the quokka rearranged the marmalade.", 1)
            else:
                body += f"<p>Benchmark edit {n}.</p>"
            admin.edit(pid, body=body)
    return len(chosen), chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edit-fraction", type=float, default=0.01)
    parser.add_argument("--fake", action="store_true", help="the hashed fake embedder (plumbing only)")
    parser.add_argument("--hashed-vectors", action="store_true",
                        help="the bundled model loaded and sizing chunks, hashed vectors (memory at scale)")
    parser.add_argument("--backends", default="",
                        help="comma-separated [embed] backends: full ingest and dense recall@5 of the sample "
                             "space for each, side by side (bench/ingest_backends.py)")
    parser.add_argument("--rounds", type=int, default=1, help="with --backends: interleaved rounds")
    parser.add_argument("--squad", action="store_true",
                        help="with --backends: the SQuAD tuning half's pages and every 9th question "
                             "(../shared/data/squad) instead of the sample space")
    parser.add_argument("--attachments", type=int, default=0,
                        help="instead: attachment throughput by type, N files of each (bench/attachments.py)")
    args = parser.parse_args()
    if args.attachments:
        from bench.attachments import run as run_attachments
        from ingest.config import load_settings
        from ingest.index.embed import FakeEmbedder, load_embedder

        run_attachments(args.attachments, FakeEmbedder() if args.fake else load_embedder(load_settings()))
        return

    squad = args.backends and args.squad
    if squad:
        from bench.ingest_backends import squad_pages

        corpus, qa = squad_pages(Path(tempfile.mkdtemp(prefix="kb-bench-squad-")))
    proc, fields = start_emulator(0 if args.backends else args.pages, args.seed,
                                  sample=bool(args.backends) and not squad, corpus=corpus if squad else None)
    try:
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
            if args.backends:
                from bench.ingest_backends import QA, compare

                compare([b.strip() for b in args.backends.split(",") if b.strip()], fields, Path(tmp),
                        args.rounds, qa if squad else QA)
            else:
                run(args, fields, Path(tmp))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(args: argparse.Namespace, fields: dict[str, str], tmp: Path) -> None:
    from ingest.index.embed import FakeEmbedder, load_embedder

    settings = load_settings(data={"dir": str(tmp / "kb")}, confluence={
        "domain_name": fields["domain"], "email": fields["email"], "api_token": fields["token"],
        "ca_bundle": fields.get("ca", ""), "scheme": "https"})
    if args.fake:
        inner: Any = FakeEmbedder()
    elif args.hashed_vectors:
        inner = HashedVectors(load_embedder(settings))
    else:
        inner = load_embedder(settings)
    embedder = TimedEmbedder(inner)
    print(f"pages: {args.pages} (seed {args.seed}); embedder: {embedder.model_id}; "
          f"batch size {settings.embed.batch_size}; cpus: {os.cpu_count()}; load: {load()}")

    full_s, full = timed_ingest(settings, embedder)
    full_cpu, inside = timed_ingest.cpu, embedder.seconds  # type: ignore[attr-defined]
    full_peaks = timed_ingest.peaks  # type: ignore[attr-defined]
    chunks = full.index.chunks_written
    print(f"full ingest: {full_s:.1f} s, {chunks} chunks, {chunks / full_s:.2f} chunks/s, "
          f"{full.index.pages_seen / full_s:.2f} pages/s (pull {full.pull.seconds:.1f} s, index "
          f"{full.index.seconds:.1f} s, of which embedding {inside:.1f} s); CPU {full_cpu:.1f} s; "
          f"load {load()}")

    if args.hashed_vectors:
        print("embed-only: skipped (hashed vectors: no ratio to give)")
    else:
        embed_s, n = embed_only(settings, embedder)
        report_ratio(embed_s, n, chunks, full_s, full_cpu)

    same_s, same = timed_ingest(settings, embedder)
    print(f"no-change re-ingest: {same_s:.2f} s = {100 * same_s / full_s:.1f}% of full (goal <= 2%), "
          f"chunks embedded {same.index.chunks_embedded} (goal 0)")

    edited, their_chunks = edit_pages(settings, fields, args.edit_fraction)
    edit_s, edit = timed_ingest(settings, embedder)
    print(f"{args.edit_fraction:.0%} edit re-ingest ({edited} pages): {edit_s:.2f} s = "
          f"{100 * edit_s / full_s:.1f}% of full (goal <= 3%), chunks embedded {edit.index.chunks_embedded} "
          f"of the {their_chunks} chunks of those pages (reused {edit.index.chunks_reused})")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (this process; the emulator runs apart); "
          f"during the full ingest, by phase: {full_peaks}")


def report_ratio(embed_s: float, n: int, chunks: int, full_s: float, full_cpu: float) -> None:
    embed_cpu = embed_only.cpu  # type: ignore[attr-defined]
    print(f"embed-only: {embed_s:.1f} s, {n} chunks, {n / embed_s:.2f} chunks/s; CPU {embed_cpu:.1f} s; "
          f"load {load()}")
    print(f"full ingest vs embed-only ratio: {(chunks / full_s) / (n / embed_s):.2f} "
          f"(embed-only ratio; goal >= 0.90); by CPU seconds: {(embed_cpu / n) / (full_cpu / chunks):.2f}")


if __name__ == "__main__":
    main()
