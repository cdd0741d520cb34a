/* checksum.h - CRC-32C of the built-in stream programs (checksum.c). */
#ifndef VMCISIM_SCEN_CHECKSUM_H
#define VMCISIM_SCEN_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data continued from crc (0 to start): scen_crc32c(scen_crc32c(0, a), b) is the
 * CRC of a followed by b. "123456789" gives 0xE3069283. */
uint32_t scen_crc32c(uint32_t crc, const void *data, size_t n);
/* The same without the CPU instruction (the table method), for tests that both agree. */
uint32_t scen_crc32c_soft(uint32_t crc, const void *data, size_t n);

#endif
