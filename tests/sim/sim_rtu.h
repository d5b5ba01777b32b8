/*
 * sim_rtu.h - the few Modbus RTU frame chores the simulator does by hand:
 * the CRC, the length of a request frame, read replies built byte by byte
 * (to corrupt them on purpose), noise, and raw writes to the line.
 */
#ifndef OUTFALL_SIM_RTU_H
#define OUTFALL_SIM_RTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first. */
uint16_t sim_crc16(const uint8_t *buf, size_t len);

/* True if the last two bytes of frame[0 .. len) are its CRC. */
bool sim_rtu_crc_ok(const uint8_t *frame, size_t len);

/* Length of the RTU request starting at req, worked out from its function
 * code the way libmodbus frames requests; -EBADMSG if it would not fit in
 * cap bytes. req must hold at least 11 bytes (any ADU buffer does). */
int sim_rtu_request_len(const uint8_t *req, size_t cap);

/* Builds a read-registers reply (slave, function, byte count, nb words high
 * byte first, CRC) into buf. Returns its length or -ENOBUFS. */
int sim_rtu_read_reply(uint8_t slave, uint8_t function, const uint16_t *words,
		       unsigned int nb, uint8_t *buf, size_t cap);

/* Fills buf with 1 .. cap random bytes from *rng that do not form a frame
 * with a valid CRC. Returns the length (cap must be >= 1). */
size_t sim_rtu_noise(uint64_t *rng, uint8_t *buf, size_t cap);

/* Writes all of buf to a non-blocking fd, waiting at most timeout_ms in
 * total for room. 0 or -errno (-ETIMEDOUT when the line does not drain). */
int sim_rtu_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms);

#endif
