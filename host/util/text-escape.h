/* SPDX-License-Identifier: MIT */
/*
 * text-escape.h - make a byte string that came from a guest or a snapshot
 * file safe to print on a terminal for people.
 *
 * A guest names its processes (prctl PR_SET_NAME) and its files, and a
 * snapshot someone sends you holds whatever bytes they chose: printed raw,
 * terminal escapes in them could rewrite the screen, set the window title
 * or write the clipboard (OSC 52). Everything snapvm prints for people that
 * such a string reaches goes through sv_text_for_terminal(); JSON output has
 * its own escaping and workload output is the program's own, kept raw.
 *
 * The rules (the output is valid UTF-8, holds no C0 control, DEL or C1
 * control, and decodes back to exactly the input bytes):
 *   - printable ASCII (0x20-0x7e) passes through, except '\' which becomes
 *     "\\" so that every backslash in the output starts an escape;
 *   - \n, \r and \t become "\n", "\r", "\t"; every other C0 control byte
 *     (0x00-0x1f: NUL, BEL, ESC...) and DEL (0x7f) becomes "\xHH" (lower-
 *     case hex, e.g. ESC is "\x1b");
 *   - a byte that does not start a valid UTF-8 sequence (a stray
 *     continuation byte, an overlong form, an encoded surrogate U+D800-
 *     U+DFFF, a code point above U+10FFFF, a sequence cut short by the end
 *     of the input) becomes "\xHH", one escape per byte, and decoding goes
 *     on at the next byte;
 *   - valid UTF-8 passes through unchanged, except these code points,
 *     which become "\u{H...}" (lower-case hex, no leading zeros):
 *       C1 controls U+0080-U+009F (some terminals act on U+009B as CSI and
 *       U+009D as OSC even when they arrive UTF-8 encoded);
 *       the Bidi_Control characters U+061C, U+200E, U+200F, U+202A-U+202E
 *       and U+2066-U+2069, which reorder what follows on the line and can
 *       make a name read as something else (the "trojan source" trick);
 *       the line and paragraph separators U+2028, U+2029, so that one
 *       printed item stays on one line.
 * "\xHH" stands for one raw byte and "\u{H...}" for the UTF-8 encoding of
 * that code point, which is what makes the escaping reversible.
 */
#ifndef SNAPVM_TEXT_ESCAPE_H
#define SNAPVM_TEXT_ESCAPE_H

#include <glib.h>

/**
 * sv_text_for_terminal:
 * @s: the bytes; may be NULL when @len is 0 (or -1: then "" is returned)
 * @len: how many bytes of @s to escape, NULs included; -1 for up to the
 *       first NUL. A fixed-size array that may lack a NUL (a task's comm)
 *       takes strnlen(s, size).
 *
 * Returns: (transfer full): @s escaped by the rules above; never NULL.
 */
char *sv_text_for_terminal(const char *s, gssize len);

#endif
