/* Sample entries: vp08/vp09 + vpcC, avc1 + avcC, Opus + dOps. */
#include "parley/depkt.h"
#include "parley/mp4.h"

static void visual_head(struct pl_buf *b, uint16_t w, uint16_t h)
{
    pl_buf_zero(b, 6);
    pl_buf_u16(b, 1);           /* data_reference_index */
    pl_buf_zero(b, 16);         /* pre_defined, reserved, pre_defined[3] */
    pl_buf_u16(b, w);
    pl_buf_u16(b, h);
    pl_buf_u32(b, 0x00480000);  /* 72 dpi */
    pl_buf_u32(b, 0x00480000);
    pl_buf_u32(b, 0);
    pl_buf_u16(b, 1);           /* frame_count */
    pl_buf_zero(b, 32);         /* compressorname */
    pl_buf_u16(b, 0x0018);      /* depth */
    pl_buf_u16(b, 0xffff);      /* pre_defined = -1 */
}

int pl_mp4_sample_entry(struct pl_buf *b, const struct pl_mp4_entry_desc *d)
{
    size_t e, c;
    switch (d->codec) {
    case PL_REC_VP8:
    case PL_REC_VP9:
        e = pl_box_open(b, d->codec == PL_REC_VP8 ? "vp08" : "vp09");
        visual_head(b, d->width, d->height);
        c = pl_fullbox_open(b, "vpcC", 1, 0);
        pl_buf_u8(b, d->codec == PL_REC_VP8 ? 0 : d->profile);
        pl_buf_u8(b, 31); /* level 3.1: informative */
        uint8_t depth = d->bit_depth ? d->bit_depth : 8, chroma = d->chroma ? d->chroma : 1;
        pl_buf_u8(b, (uint8_t)(depth << 4 | (chroma & 7) << 1));
        pl_buf_u8(b, 2); /* colour primaries, transfer, matrix: unspecified */
        pl_buf_u8(b, 2);
        pl_buf_u8(b, 2);
        pl_buf_u16(b, 0); /* codecIntializationDataSize: must be 0 for VP8/VP9 */
        pl_box_close(b, c);
        pl_box_close(b, e);
        break;
    case PL_REC_H264:
        if (d->sps_len < 4 || d->sps_len > 0xffff || d->pps_len < 1 || d->pps_len > 0xffff)
            return -1;
        e = pl_box_open(b, "avc1");
        visual_head(b, d->width, d->height);
        c = pl_box_open(b, "avcC");
        pl_buf_u8(b, 1);
        pl_buf_u8(b, d->sps[1]); /* profile, compatibility, level from the SPS */
        pl_buf_u8(b, d->sps[2]);
        pl_buf_u8(b, d->sps[3]);
        pl_buf_u8(b, 0xff);      /* 4-byte NAL lengths */
        pl_buf_u8(b, 0xe1);      /* one SPS */
        pl_buf_u16(b, (uint16_t)d->sps_len);
        pl_buf_put(b, d->sps, d->sps_len);
        pl_buf_u8(b, 1);         /* one PPS */
        pl_buf_u16(b, (uint16_t)d->pps_len);
        pl_buf_put(b, d->pps, d->pps_len);
        uint8_t prof = d->sps[1];
        if (prof == 100 || prof == 110 || prof == 122 || prof == 144) {
            /* ISO/IEC 14496-15 5.3.3.1.2: High profiles add chroma format and bit depths. */
            struct pl_h264_sps info = {.chroma_format = 1, .bit_depth_luma = 8, .bit_depth_chroma = 8};
            if (pl_h264_sps_parse(d->sps, d->sps_len, &info) != 0)
                info = (struct pl_h264_sps){.chroma_format = 1, .bit_depth_luma = 8, .bit_depth_chroma = 8};
            pl_buf_u8(b, (uint8_t)(0xfc | info.chroma_format));
            pl_buf_u8(b, (uint8_t)(0xf8 | (info.bit_depth_luma - 8)));
            pl_buf_u8(b, (uint8_t)(0xf8 | (info.bit_depth_chroma - 8)));
            pl_buf_u8(b, 0); /* no SPS extensions */
        }
        pl_box_close(b, c);
        pl_box_close(b, e);
        break;
    case PL_REC_OPUS:
        e = pl_box_open(b, "Opus");
        pl_buf_zero(b, 6);
        pl_buf_u16(b, 1);
        pl_buf_zero(b, 8);
        pl_buf_u16(b, d->channels);
        pl_buf_u16(b, 16);
        pl_buf_zero(b, 4);
        pl_buf_u32(b, 48000u << 16);
        c = pl_box_open(b, "dOps");  /* big-endian, unlike the Ogg OpusHead */
        pl_buf_u8(b, 0);             /* Version */
        pl_buf_u8(b, d->channels);   /* OutputChannelCount */
        pl_buf_u16(b, d->pre_skip);
        pl_buf_u32(b, 48000);        /* InputSampleRate */
        pl_buf_u16(b, 0);            /* OutputGain */
        pl_buf_u8(b, 0);             /* ChannelMappingFamily: mono/stereo */
        pl_box_close(b, c);
        pl_box_close(b, e);
        break;
    default:
        return -1;
    }
    return b->err ? -1 : 0;
}
