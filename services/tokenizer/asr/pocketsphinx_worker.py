"""Long-lived PocketSphinx decoder for the tokenizer's speech recognizer.

Spoken to only by services/tokenizer/asr/pocketsphinx.ts over pipes; nothing touches disk
except the read-only model files.

Protocol, repeated until stdin closes:
  request  = one JSON line {"id": int, "samples": int, "hints": [str] | null}
             followed by exactly samples * 2 bytes of 16 kHz mono signed 16-bit little-endian PCM
  response = one JSON line {"id": int, "words": [[word, startMs, endMs, confidence], ...]}
             or {"id": int, "error": str}
Arguments: MODEL_DIR [-decoder_option value]...
At start the worker prints {"ready": true} once the model has loaded (or {"fatal": str} and exits).

Privacy: the PCM buffer is overwritten with zeros after each decode, PocketSphinx's log goes to
/dev/null, and neither audio nor transcripts are ever written to stderr.
"""

import json
import re
import sys

WORD_RE = re.compile(r"^[a-z][a-z']*$")
FRAME_MS = 10  # PocketSphinx computes 100 frames per second.
# Tuning options the worker accepts on its command line, with their types.
OPTION_TYPES = {
    "-remove_noise": bool, "-bestpath": bool, "-fwdflat": bool, "-fsgusefiller": bool,
    "-ds": int, "-topn": int, "-maxhmmpf": int, "-maxwpf": int, "-pl_window": int,
    "-beam": float, "-wbeam": float, "-pbeam": float, "-lw": float, "-wip": float,
    "-silprob": float, "-fillprob": float,
}


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/pocketsphinx/model/en-us"
    try:
        from pocketsphinx import Decoder

        config = Decoder.default_config()
        config.set_string("-hmm", model_dir + "/en-us")
        config.set_string("-lm", model_dir + "/en-us.lm.bin")
        config.set_string("-dict", model_dir + "/cmudict-en-us.dict")
        config.set_string("-logfn", "/dev/null")
        for name, value in zip(sys.argv[2::2], sys.argv[3::2]):
            kind = OPTION_TYPES.get(name)
            if kind is None:
                raise ValueError("unsupported decoder option " + name)
            # A setter of the wrong type crashes the SWIG binding, hence the table.
            if kind is bool:
                config.set_boolean(name, value == "yes")
            elif kind is int:
                config.set_int(name, int(value))
            else:
                config.set_float(name, float(value))
        decoder = Decoder(config)
        logmath = decoder.get_logmath()
        lm_search = decoder.get_search()
    except Exception as exc:  # noqa: BLE001 - report any start failure and stop
        emit({"fatal": type(exc).__name__ + ": " + str(exc)})
        return 1

    current_grammar = None
    stdin = sys.stdin.buffer
    emit({"ready": True})

    while True:
        line = stdin.readline()
        if not line:
            return 0
        try:
            header = json.loads(line)
            req_id = int(header["id"])
            samples = int(header["samples"])
        except Exception:  # noqa: BLE001 - framing is lost, stop rather than guess
            emit({"fatal": "bad request header"})
            return 2
        if samples < 0 or samples > 16000 * 600:
            emit({"fatal": "bad sample count"})
            return 2

        pcm = bytearray(samples * 2)
        view = memoryview(pcm)
        got = 0
        while got < len(pcm):
            n = stdin.readinto(view[got:])
            if not n:
                break
            got += n
        if got < len(pcm):
            view[:] = bytes(len(pcm))
            return 0

        try:
            grammar = build_grammar(decoder, header.get("hints"))
            words = decode(decoder, logmath, lm_search, pcm)
            if grammar is not None:
                if grammar != current_grammar:
                    decoder.set_jsgf_string("hints", grammar)
                    current_grammar = grammar
                constrained = decode(decoder, logmath, "hints", pcm)
                # A grammar always yields one of its answers and its posteriors are all 1. A
                # word's confidence is instead the open-vocabulary posterior for the same word
                # over an overlapping span (0 when the open decode did not hear it), scaled by the
                # share of open-decode words the answer accounts for ("i don't know" against
                # the hint "i don't" leaves "know" unexplained).
                def same(o, w):
                    return o[0] == w[0] and o[1] < w[2] and w[1] < o[2]

                explained = sum(1 for o in words if any(same(o, w) for w in constrained))
                share = explained / len(words) if words else 0.0
                for w in constrained:
                    heard = max((o[3] for o in words if same(o, w)), default=0.0)
                    w[3] = round(heard * share, 4)
                words = constrained
            emit({"id": req_id, "words": words})
        except Exception as exc:  # noqa: BLE001 - keep serving; message carries no audio/text
            emit({"id": req_id, "error": type(exc).__name__})
        finally:
            view[:] = bytes(len(pcm))
            view.release()


def decode(decoder, logmath, search, pcm):
    """Decodes pcm as one utterance with the named search; [[word, startMs, endMs, confidence]]."""
    decoder.set_search(search)
    decoder.start_utt()
    # full_utt=True: cepstral mean normalisation over the whole answer, which is far more accurate
    # on short answers than the CLI's live estimate. No copy: pcm is zeroed by the caller.
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    words = []
    if decoder.hyp() is None:
        return words
    for seg in decoder.seg():
        word = seg.word
        # <s> </s> <sil>, [NOISE]-style fillers, and (NULL) grammar transitions
        if word[0] in "<[(":
            continue
        paren = word.find("(")
        if paren > 0:
            word = word[:paren]  # alternate pronunciation, e.g. "the(2)"
        words.append([
            word,
            seg.start_frame * FRAME_MS,
            (seg.end_frame + 1) * FRAME_MS,
            round(min(1.0, max(0.0, logmath.exp(seg.prob))), 4),
        ])
    return words


def build_grammar(decoder, hints):
    """A JSGF grammar accepting exactly one of the hint phrases, or None to use the language model.

    One whole answer per utterance: a looping grammar (<phrase>+) inserted short phrases on
    silence and breath in the measurements.

    Phrases with a word outside the pronunciation dictionary are dropped (PocketSphinx cannot
    recognise a word it cannot pronounce).
    """
    if not isinstance(hints, list) or not hints:
        return None
    phrases = []
    for hint in hints:
        if not isinstance(hint, str):
            continue
        tokens = hint.lower().split()
        if not tokens or len(tokens) > 20:
            continue
        if all(WORD_RE.match(t) and decoder.lookup_word(t) is not None for t in tokens):
            phrase = " ".join(tokens)
            if phrase not in phrases:
                phrases.append(phrase)
    if not phrases:
        return None
    return (
        "#JSGF V1.0;\ngrammar hints;\npublic <answer> = "
        + " | ".join(phrases)
        + " ;\n"
    )


if __name__ == "__main__":
    sys.exit(main())
