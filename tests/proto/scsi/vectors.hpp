// Response bytes the SCSI decoder tests share. "tgt" vectors were captured from tgt 1.0.85
// (Debian 12) serving a 64 MiB file-backed LUN on 127.0.0.1, as the Data-In / sense bytes
// libiscsi 1.19's iscsi-inq, iscsi-readcapacity16, iscsi-ls and iscsi-test-cu received (strace
// of the socket, iSCSI headers and the 2-byte SenseLength removed). "hand" vectors were written
// from SPC-4/SBC-4 to reach fields tgt leaves zero; each says what it sets.
#pragma once

#include <string_view>

namespace iscsi::scsi::vectors {

// Standard INQUIRY of tgt's disk LUN, allocation length 66: PQ 0 / type 0, version 5 (SPC-3),
// HiSup + response data format 2, additional length 0x3d, CmdQue, "IET" "VIRTUAL-DISK" "0001",
// version descriptors SBC-3 (04c0), iSCSI (0960), SPC-3 (0300).
inline constexpr std::string_view kTgtStandardInquiry =
    "00 00 05 12 3d 00 00 02 49 45 54 20 20 20 20 20 56 49 52 54 55 41 4c 2d 44 49 53 4b 20 20"
    "20 20 30 30 30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 c0"
    "09 60 03 00 00 00";
// The same, as returned for libiscsi's first try with allocation length 64 (2 bytes short).
inline constexpr std::string_view kTgtStandardInquiry64 =
    "00 00 05 12 3d 00 00 02 49 45 54 20 20 20 20 20 56 49 52 54 55 41 4c 2d 44 49 53 4b 20 20"
    "20 20 30 30 30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 c0"
    "09 60 03 00";
// hand: PQ 3 / type 0x1f (no logical unit), removable, SPC-4, NormACA, TPGS 3 (implicit and
// explicit ALUA), 3PC, Protect, EncServ, MultiP, no CmdQue; vendor and product padded with
// NULs; 36 bytes (no version descriptors).
inline constexpr std::string_view kHandStandardInquiry =
    "7f 80 06 22 1f 39 50 00 41 43 4d 45 00 00 00 00 42 49 47 20 44 49 53 4b 00 00 00 00 00 00"
    "00 00 31 2e 32 20";

// VPD 0x00 from tgt: 0x00 0x80 0x83 0xb0 0xb1 0xb2.
inline constexpr std::string_view kTgtVpdSupported = "00 00 00 06 00 80 83 b0 b1 b2";
// VPD 0x80 from tgt: serial "beaf12", right-aligned in 36 bytes of spaces.
inline constexpr std::string_view kTgtVpdSerial =
    "00 80 00 24 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20"
    "20 20 20 20 62 65 61 66 31 32";
// VPD 0x83 from tgt (76 bytes): T10 vendor ID "IET     00010002" (ASCII), NAA 3 and NAA 6.
inline constexpr std::string_view kTgtVpdDeviceId =
    "00 83 00 48 02 01 00 24 49 45 54 20 20 20 20 20 30 30 30 31 30 30 30 32 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 03 00 08 30 00 00 01 00 00 00 02 01 03 00 10"
    "60 00 00 00 00 00 00 00 0e 00 00 00 00 01 00 02";
// hand, in the style of LIO: NAA 6, T10 vendor ID, relative target port 1 and target port
// group 0 (both iSCSI with PIV), logical unit group 7, SCSI name string of the target port
// (UTF-8, NUL padded), EUI-64.
inline constexpr std::string_view kHandVpdDeviceId =
    "00 83 00 84"
    "010300106001405a1b2c3d4e5f60718293a4b5c6"
    "020100184c494f2d4f52472036303031343035613162326333643465"
    "5194000400000001"
    "5195000400000000"
    "0106000400000007"
    "5398002c69716e2e323030332d30312e6f72672e6c696e75782d69736373692e6c61623a74302c742c30783030303100"
    "010200080011223344556677";

// hand: REPORT TARGET PORT GROUPS with the extended header (implicit transition time 10 s):
// group 1 preferred active/optimized (status: altered by implicit behavior) with relative
// target port 1; group 2 standby with ports 2 and 3; both support T, U, S, AN and AO.
inline constexpr std::string_view kHandRtpgExtended =
    "00000020 100a0000 808f0001 00020001 00000001 028f0002 00000002 00000002 00000003";
// hand: the length-only header: group 5 active/non-optimized with relative target port 9.
inline constexpr std::string_view kHandRtpgLengthOnly = "0000000c 010f0005 00000001 00000009";

// VPD 0xB0 from tgt: MAXIMUM COMPARE AND WRITE LENGTH 128, unmap limits 0xffffffff.
inline constexpr std::string_view kTgtVpdBlockLimits =
    "00 b0 00 3c 00 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff ff ff ff ff 00 00"
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "00 00 00 00";
// hand: every field distinct: WSNZ, CAW 1, OTLG 8, MTL 0x2000, OTL 0x400, MPL 0x10,
// MULC 0x400000, MUBDC 1, OUG 8, UGAVALID + UGA 4, MWSL 0x400000, then atomic 0x11111111,
// 2, 3, 4, 5.
inline constexpr std::string_view kHandVpdBlockLimits =
    "00 b0 00 3c 01 01 00 08 00 00 20 00 00 00 04 00 00 00 00 10 00 40 00 00 00 00 00 01 00 00"
    "00 08 80 00 00 04 00 00 00 00 00 40 00 00 11 11 11 11 00 00 00 02 00 00 00 03 00 00 00 04"
    "00 00 00 05";
// hand: an SBC-2 device's short page (length 0x0c): OTLG 1, MTL 0x1000, OTL 0x80.
inline constexpr std::string_view kShortVpdBlockLimits =
    "00 b0 00 0c 00 00 00 01 00 00 10 00 00 00 00 80";

// VPD 0xB2 from tgt's thin LUN: LBPU, LBPWS, LBPWS10, LBPRZ 1, thin provisioned.
inline constexpr std::string_view kTgtVpdLbp = "00 b2 00 04 00 e4 02 00";
// hand: threshold exponent 12, LBPU, LBPRZ 4, ANC_SUP, DP, minimum percentage 9,
// provisioning type 2, threshold percentage 50.
inline constexpr std::string_view kHandVpdLbp = "00 b2 00 04 0c 93 4a 32";

// READ CAPACITY(10) from tgt: last LBA 0x1ffff, 512-byte blocks (64 MiB).
inline constexpr std::string_view kTgtReadCapacity10 = "00 01 ff ff 00 00 02 00";
// READ CAPACITY(16) from tgt: LBPPBE 3 (4 KiB physical), LBPME + LBPRZ (thin LUN).
inline constexpr std::string_view kTgtReadCapacity16 =
    "00 00 00 00 00 01 ff ff 00 00 02 00 00 03 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "00 00";
// The same with allocation length 16, as iscsi-test-cu asked.
inline constexpr std::string_view kTgtReadCapacity16Short =
    "00 00 00 00 00 01 ff ff 00 00 02 00 00 03 c0 00";
// hand: last LBA 0x123456789, 4096-byte blocks, RC BASIS 1, P_TYPE 1 + PROT_EN (type 2),
// P_I_EXPONENT 2, LBPPBE 1, LBPME, lowest aligned LBA 0x107.
inline constexpr std::string_view kHandReadCapacity16 =
    "00 00 00 01 23 45 67 89 00 00 10 00 13 21 81 07 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "00 00";

// REPORT LUNS from tgt with LUNs 0, 1, 2 and 300 (flat addressing: 41 2c).
inline constexpr std::string_view kTgtReportLuns =
    "00 00 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00"
    "00 00 41 2c 00 00 00 00 00 00";
// libiscsi's first REPORT LUNS (allocation length 16) against 3 LUNs: list length 24, one LUN.
inline constexpr std::string_view kTgtReportLunsShort =
    "00 00 00 18 00 00 00 00 00 00 00 00 00 00 00 00";

// MODE SENSE(6), all pages, from tgt (106 bytes): DPOFUA, one short block descriptor
// (0 blocks, 512 bytes), pages 0x00 (empty), 0x02, 0x08 (caching, WCE), 0x0a, 0x0a/0x01
// (sub_page format) and 0x1c.
inline constexpr std::string_view kTgtModeSense6 =
    "69 00 10 08 00 00 00 00 00 00 02 00 00 00 02 0e 80 80 00 0a 00 00 00 00 00 00 00 00 00 00"
    "08 12 14 00 ff ff 00 00 ff ff ff ff 80 14 00 00 00 00 00 00 0a 0a 02 10 00 00 00 00 00 00"
    "02 00 4a 01 00 1c 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "00 00 00 00 1c 0a 08 00 00 00 00 00 00 00 00 00";
// hand: MODE SENSE(10) with LONGLBA: mode data length 42, WP, one long block descriptor
// (2^32 blocks of 4096 bytes), caching page (PS, WCE).
inline constexpr std::string_view kHandModeSense10 =
    "00 2a 00 80 01 00 00 10"
    "00 00 00 01 00 00 00 00 00 00 00 00 00 00 10 00"
    "88 12 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

// Sense data from tgt: UNIT ATTENTION 29/00 (the first command after login).
inline constexpr std::string_view kTgtSenseUnitAttention =
    "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00";
// READ(16) past the last LBA: ILLEGAL REQUEST 21/00.
inline constexpr std::string_view kTgtSenseLbaOutOfRange =
    "70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00";
// INQUIRY for an unsupported VPD page: ILLEGAL REQUEST 24/00.
inline constexpr std::string_view kTgtSenseInvalidFieldInCdb =
    "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00";
// hand: fixed, MEDIUM ERROR 11/00 with VALID information 0x1234 and ILI.
inline constexpr std::string_view kHandSenseMediumError =
    "f0 00 23 00 00 12 34 0a 00 00 00 00 11 00 00 00 00 00";
// hand: fixed, ILLEGAL REQUEST 24/00 with a field pointer: SKSV, C/D (CDB), BPV, bit 3 of
// byte 2.
inline constexpr std::string_view kHandSenseFieldPointer =
    "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 02";
// hand: fixed, NOT READY 04/04 (format in progress) with progress 0x4000 (25 %).
inline constexpr std::string_view kHandSenseProgress =
    "70 00 02 00 00 00 00 0a 00 00 00 00 04 04 00 80 40 00";
// hand: descriptor format, ILLEGAL REQUEST 24/00 with an information descriptor (VALID,
// 0x1234), a sense-key-specific descriptor (field pointer byte 2 bit 3 of the CDB), a
// command-specific information descriptor (0x77) and a block commands descriptor (ILI).
inline constexpr std::string_view kHandDescriptorSense =
    "72 05 24 00 00 00 00 24"
    "00 0a 80 00 00 00 00 00 00 00 12 34"
    "02 06 00 00 cb 00 02 00"
    "01 0a 00 00 00 00 00 00 00 00 00 77"
    "05 02 00 20";

}  // namespace iscsi::scsi::vectors
