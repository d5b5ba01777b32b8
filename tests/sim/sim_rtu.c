/* sim_rtu.c - hand-made Modbus RTU frames and raw line writes (see sim_rtu.h). */
#include "sim_rtu.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "sim_map.h"
#include "base/clock.h"

uint16_t sim_crc16(const uint8_t *buf, size_t len)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

bool sim_rtu_crc_ok(const uint8_t *frame, size_t len)
{
	uint16_t crc;

	if (len < 4)
		return false;
	crc = sim_crc16(frame, len - 2);
	return frame[len - 2] == (crc & 0xFF) && frame[len - 1] == (crc >> 8);
}

int sim_rtu_request_len(const uint8_t *req, size_t cap)
{
	size_t len;

	/* slave + function + fields after the function + CRC */
	switch (req[1]) {
	case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
		len = 8; /* address, count or value */
		break;
	case 0x0F: case 0x10:
		len = 9 + (size_t)req[6]; /* address, count, byte count, data */
		break;
	case 0x16:
		len = 10; /* address, and-mask, or-mask */
		break;
	case 0x17:
		len = 13 + (size_t)req[10]; /* read and write blocks, data */
		break;
	default:
		len = 4; /* libmodbus reads no fields for other functions */
		break;
	}
	return len <= cap ? (int)len : -EBADMSG;
}

int sim_rtu_read_reply(uint8_t slave, uint8_t function, const uint16_t *words,
		       unsigned int nb, uint8_t *buf, size_t cap)
{
	size_t len = 3 + 2 * (size_t)nb;
	uint16_t crc;

	if (nb > 125 || len + 2 > cap)
		return -ENOBUFS;
	buf[0] = slave;
	buf[1] = function;
	buf[2] = (uint8_t)(2 * nb);
	for (unsigned int i = 0; i < nb; i++) {
		buf[3 + 2 * i] = (uint8_t)(words[i] >> 8);
		buf[4 + 2 * i] = (uint8_t)words[i];
	}
	crc = sim_crc16(buf, len);
	buf[len] = (uint8_t)(crc & 0xFF);
	buf[len + 1] = (uint8_t)(crc >> 8);
	return (int)(len + 2);
}

size_t sim_rtu_noise(uint64_t *rng, uint8_t *buf, size_t cap)
{
	size_t len = 1 + (size_t)(sim_rand64(rng) % cap);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)sim_rand64(rng);
	if (sim_rtu_crc_ok(buf, len))
		buf[len - 1] ^= 0x01;
	return len;
}

int sim_rtu_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	size_t done = 0;

	while (done < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int64_t left = deadline - clock_mono_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = write(fd, buf + done, len - done);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}
