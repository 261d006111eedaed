//! The output mailbox: console output mirrored into RAM, for hosts that cannot see the BIOS TTY.
//!
//! Some emulators (pcsx_rearmed's HLE BIOS among them) never show what a program prints through
//! the BIOS. The runtime therefore also appends everything `bios::Console`
//! prints to a ring in RAM, at a fixed address the linker script reserves
//! ([`MAILBOX`](crate::map::MAILBOX), 4 KiB just below the BIOS's top 256 bytes), and a host
//! that can read guest RAM drains it.
//!
//! Layout (little-endian `u32` fields, then the ring):
//!
//! | offset | field | written by | meaning |
//! |---|---|---|---|
//! | 0 | `magic` | guest | [`MAGIC`] (`"FLMB"` in memory), written last at start-up |
//! | 4 | `capacity` | guest | bytes in the ring ([`CAPACITY`]) |
//! | 8 | `write` | guest | bytes written so far (wrapping) |
//! | 12 | `read` | host | bytes the host has consumed so far (wrapping) |
//! | 16 | `attached` | host | 1 once a host drains the ring |
//! | 20 | `lost` | guest | bytes dropped because the ring was full and no host was attached |
//! | 24 | `data` | guest | byte `i` of the stream at `data[i % capacity]` |
//!
//! The guest writes a byte into the ring before it advances `write`. When the ring is full, a
//! guest with a host attached waits for the host to advance `read`; without one, it drops the
//! byte and counts it in `lost`, so a console nobody drains (real hardware, pcsxr) never stalls.

use core::mem::offset_of;

use crate::map::MAILBOX_SIZE;

/// The magic value at offset 0: the bytes `F L M B`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"FLMB");

/// The mailbox header.
#[repr(C)]
#[derive(Debug)]
pub struct Header {
    /// [`MAGIC`] once the mailbox is ready.
    pub magic: u32,
    /// Bytes in the ring.
    pub capacity: u32,
    /// Bytes written (guest).
    pub write: u32,
    /// Bytes consumed (host).
    pub read: u32,
    /// Non-zero once a host drains the ring.
    pub attached: u32,
    /// Bytes dropped while no host was attached.
    pub lost: u32,
}

/// Where the ring starts, from the mailbox's first byte.
pub const DATA_OFFSET: usize = core::mem::size_of::<Header>();
/// Bytes in the ring.
pub const CAPACITY: u32 = MAILBOX_SIZE.get() as u32 - DATA_OFFSET as u32;

/// The offsets of every field, as `(name, offset)`: the table hosts mirror.
pub const FIELDS: [(&str, usize); 7] = [
    ("magic", offset_of!(Header, magic)),
    ("capacity", offset_of!(Header, capacity)),
    ("write", offset_of!(Header, write)),
    ("read", offset_of!(Header, read)),
    ("attached", offset_of!(Header, attached)),
    ("lost", offset_of!(Header, lost)),
    ("data", DATA_OFFSET),
];

#[cfg(all(feature = "rt", target_arch = "mips"))]
pub(crate) mod guest {
    //! The guest side: set-up by the runtime, appends by the console.

    use super::{CAPACITY, DATA_OFFSET, Header, MAGIC};
    use crate::map::MAILBOX;
    use core::ptr::{addr_of, addr_of_mut};

    fn header() -> *mut Header {
        MAILBOX as usize as *mut Header
    }

    /// Clears the header and makes the mailbox visible (magic last).
    pub(crate) fn init() {
        let h = header();
        // SAFETY: the linker script reserves MAILBOX..MAILBOX+4 KiB for the mailbox alone
        // (asserted there); the runtime calls this once, before anything prints.
        unsafe {
            addr_of_mut!((*h).magic).write_volatile(0);
            addr_of_mut!((*h).capacity).write_volatile(CAPACITY);
            addr_of_mut!((*h).write).write_volatile(0);
            addr_of_mut!((*h).read).write_volatile(0);
            addr_of_mut!((*h).attached).write_volatile(0);
            addr_of_mut!((*h).lost).write_volatile(0);
            addr_of_mut!((*h).magic).write_volatile(MAGIC);
        }
    }

    /// Appends `bytes`, waiting for an attached host when the ring is full.
    pub(crate) fn push(bytes: &[u8]) {
        let h = header();
        // SAFETY: as in `init`: the reserved mailbox, its header initialised by `init` (the
        // magic check below skips a mailbox the runtime did not set up). Fields the host writes
        // are read with volatile loads, since the host changes them behind the program's back.
        unsafe {
            if addr_of!((*h).magic).read_volatile() != MAGIC {
                return;
            }
            let data = (MAILBOX as usize + DATA_OFFSET) as *mut u8;
            let mut write = addr_of!((*h).write).read_volatile();
            for &b in bytes {
                while write.wrapping_sub(addr_of!((*h).read).read_volatile()) >= CAPACITY {
                    if addr_of!((*h).attached).read_volatile() == 0 {
                        let lost = addr_of!((*h).lost).read_volatile();
                        addr_of_mut!((*h).lost).write_volatile(lost.wrapping_add(1));
                        break;
                    }
                    core::hint::spin_loop();
                }
                if write.wrapping_sub(addr_of!((*h).read).read_volatile()) < CAPACITY {
                    data.add((write % CAPACITY) as usize).write_volatile(b);
                    write = write.wrapping_add(1);
                    addr_of_mut!((*h).write).write_volatile(write);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_the_documented_one() {
        assert_eq!(&MAGIC.to_le_bytes(), b"FLMB");
        assert_eq!(MAGIC, 0x424D_4C46);
        let offsets: [usize; 7] = FIELDS.map(|(_, o)| o);
        assert_eq!(offsets, [0, 4, 8, 12, 16, 20, 24]);
        assert_eq!(CAPACITY, 4096 - 24);
    }
}
