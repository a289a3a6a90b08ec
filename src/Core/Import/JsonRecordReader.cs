using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Core.Import;

/// <summary>
/// The records of a JSON object upload, read as they arrive instead of parsed whole: the array under the first
/// top-level property named like a wrapper (<c>{"data":[…]}</c>) is read element by element, each parsed on its
/// own, so a 100 MiB export holds one record in memory at a time, not the file. An object without such an array is
/// itself the one record (it is held whole, as it must be to parse). Built on System.Text.Json's own incremental
/// reader (<see cref="Utf8JsonReader"/> with <see cref="JsonReaderState"/>); malformed JSON throws <see cref="JsonException"/>.
/// </summary>
internal sealed class JsonRecordReader(Stream stream, IReadOnlyCollection<string> wrappers, int maxDepth)
{
    private readonly JsonDocumentOptions _documentOptions = new() { MaxDepth = maxDepth };
    private byte[] _buffer = new byte[64 * 1024];
    private int _pos;   // where the reader goes on from
    private int _end;   // end of what was read
    private bool _final;
    private bool _inArray;
    private string? _property;
    private JsonReaderState _state = new(new JsonReaderOptions { MaxDepth = maxDepth });

    /// <summary>The buffer's size now: what reading holds of the upload at once.</summary>
    public int BufferSize => _buffer.Length;

    public async IAsyncEnumerable<JsonElement> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var (records, done) = Step();
            foreach (var record in records)
            {
                yield return record;
            }

            if (done)
            {
                yield break;
            }

            if (_final)
            {
                throw new JsonException("The JSON document ends before it is complete.");
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads what the buffer holds; returns the records it completed, and whether the reading is over.</summary>
    private (List<JsonElement> Records, bool Done) Step()
    {
        var records = new List<JsonElement>();
        var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), _final, _state);
        var done = false;
        while (!done)
        {
            // Each step works on a copy, kept only once its token (or element) is whole in the buffer.
            var next = reader;
            if (!next.Read())
            {
                break;
            }

            if (_inArray)
            {
                if (next.TokenType == JsonTokenType.EndArray)
                {
                    done = true; // what follows the array is not read
                }
                else
                {
                    var elementStart = (int)next.TokenStartIndex;
                    if (!next.TrySkip())
                    {
                        break;
                    }

                    using var document = JsonDocument.Parse(_buffer.AsMemory(_pos + elementStart, (int)next.BytesConsumed - elementStart), _documentOptions);
                    records.Add(document.RootElement.Clone());
                }
            }
            else if (next.CurrentDepth == 0 && next.TokenType is not (JsonTokenType.StartObject or JsonTokenType.EndObject))
            {
                // A bare value (a string, a number) is one record, as the importer then says what is wrong with it.
                using var value = JsonDocument.Parse(_buffer.AsMemory(0, _pos + (int)next.BytesConsumed), _documentOptions);
                records.Add(value.RootElement.Clone());
                done = true;
            }
            else if (next.CurrentDepth == 0 && next.TokenType == JsonTokenType.EndObject)
            {
                // No wrapper array: the object, all of it still in the buffer, is the one record.
                using var whole = JsonDocument.Parse(_buffer.AsMemory(0, _pos + (int)next.BytesConsumed), _documentOptions);
                records.Add(whole.RootElement.Clone());
                done = true;
            }
            else if (next.CurrentDepth == 1 && next.TokenType == JsonTokenType.PropertyName)
            {
                _property = next.GetString();
            }
            else if (next.CurrentDepth == 1 && next.TokenType == JsonTokenType.StartArray && _property is not null && wrappers.Contains(_property))
            {
                _inArray = true;
            }
            else if (next.CurrentDepth >= 1 && next.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !next.TrySkip())
            {
                break; // another property's value, not yet whole
            }

            reader = next;
        }

        _state = reader.CurrentState;
        _pos += (int)reader.BytesConsumed;
        return (records, done);
    }

    /// <summary>
    /// Reads more of the stream. Once inside the array what was read is let go; before, everything is kept from the
    /// first byte (without a wrapper array the whole object is the record).
    /// </summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_inArray && _pos > 0)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, _end - _pos);
            _end -= _pos;
            _pos = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        _final = read == 0;
    }
}
