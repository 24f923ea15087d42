/* The framing of the stream protocol (edgeneuro/stream/protocol.py), shared by the stream harnesses
 * (firmware/stream.c: one window per INFER; firmware/stream_detector.c: the whole detector fed
 * SAMPLES): every frame is
 *     SYNC 0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload | CRC-32 u32 LE (over type..payload)
 * Receiving hunts for SYNC, refuses a frame by its header (the harness's `check`), by silence
 * mid-frame or by its CRC, NAKs it, and resumes the hunt one byte after the refused frame's SYNC,
 * through the bytes it had taken: a frame that began inside them is found, not swallowed.
 * The receive buffer holds the largest payload a harness takes, EN_STREAM_IN_BYTES (stream_info.h). */
#ifndef EN_FRAME_H
#define EN_FRAME_H

#include <stdint.h>

#include "stream_info.h"

#define EN_FRAME_HEAD 4u /* type, seq, length: en_frame[0..3]; the payload follows */
#define EN_FRAME_VERSION 4u /* 3: OUTPUT ends with the CRC of the INFER it answers; 4: INFO's channels (SAMPLES) */
#define EN_FRAME_INFO 0x81u

/* The protocol's version; also marks the image as a stream harness (the host checks the ELF for
 * this symbol). */
extern const uint32_t en_stream_protocol_version;

enum { EN_NAK_CRC = 1, EN_NAK_LENGTH = 2, EN_NAK_SEQ = 3, EN_NAK_TYPE = 4, EN_NAK_TIMEOUT = 5, EN_NAK_SAMPLES = 6 };

/* A frame's length field is 16 bits (the host's build refuses larger models; so does this). */
typedef char en_frame_in_fits[EN_STREAM_IN_BYTES <= 0xFFFFu ? 1 : -1];

/* The frame received last: header at 0, payload at EN_FRAME_HEAD, then its CRC. */
extern uint8_t en_frame[EN_FRAME_HEAD + EN_STREAM_IN_BYTES + 4u];

/* Whether the harness takes a frame of `type` with a payload of `length` bytes: 0, or the NAK
 * reason (EN_NAK_TYPE, EN_NAK_LENGTH), decided before any payload byte is read, so that no length
 * can overrun en_frame[]. */
typedef int (*en_frame_check)(uint8_t type, uint32_t length);

/* Waits for the next frame that `check` takes and whose CRC is right (refused ones are NAKed and
 * hunted through again); returns its payload's length and sets *crc to its CRC field. */
uint32_t en_frame_receive(en_frame_check check, uint32_t *crc);

void en_frame_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t n);
/* The answer to HELLO, INFO: the version, `flags`, the largest payload the harness takes and the
 * outputs' bytes (stream_info.h), the SysTick rate, `state_bytes`, the model id, `channels` (of a
 * SAMPLES frame; 0: the harness takes none), the board's and the model's names. */
void en_frame_send_info(uint8_t seq, uint8_t flags, uint32_t state_bytes, uint16_t channels);
void en_frame_nak(uint8_t seq, uint8_t reason, uint8_t expected);

uint32_t en_frame_crc(uint32_t crc, const uint8_t *p, uint32_t n);
void en_frame_put_u32(uint8_t *p, uint32_t v);
uint32_t en_frame_get_u32(const uint8_t *p);

#endif
