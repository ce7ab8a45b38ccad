/* typegen_huge: an array type too long for the metadata's 32-bit element count (8 GiB of
 * char); only a pointer to it exists, so nothing that big is ever allocated. */
typedef char huge_buffer[1L << 33];
huge_buffer *huge_ptr;

int main(void)
{
    return huge_ptr != 0;
}
