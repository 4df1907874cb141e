using Pcme.Data;

namespace Pcme.Tests.Data;

public class CaptionTokenizerTests
{
    // Expected tokens produced by NLTK 3.8 (NLTKWordTokenizer on the lower-cased sentences), the
    // tokenizer behind nltk.word_tokenize in the official code.
    public static TheoryData<string, string[]> NltkCases => new()
    {
        { "A man's dog can't jump, isn't it?", ["a", "man", "'s", "dog", "ca", "n't", "jump", ",", "is", "n't", "it", "?"] },
        { "She said \"hello\" (twice) and left.", ["she", "said", "``", "hello", "''", "(", "twice", ")", "and", "left", "."] },
        { "A black-and-white photo of 3,000 people at 10:30 ... wow!", ["a", "black-and-white", "photo", "of", "3,000", "people", "at", "10:30", "...", "wow", "!"] },
        { "Cats; dogs & birds: 50% off @ the #1 store $5", ["cats", ";", "dogs", "&", "birds", ":", "50", "%", "off", "@", "the", "#", "1", "store", "$", "5"] },
        { "It's the dogs' bowl -- they're gonna eat it", ["it", "'s", "the", "dogs", "'", "bowl", "--", "they", "'re", "gon", "na", "eat", "it"] },
        { "I cannot wanna gimme more'n 'tis", ["i", "can", "not", "wan", "na", "gim", "me", "more", "'n", "'t", "is"] },
        { "e.g. a u.s. flag on a pole.", ["e.g.", "a", "u.s.", "flag", "on", "a", "pole", "."] },
        { "A dog. A cat sitting on a mat.", ["a", "dog", ".", "a", "cat", "sitting", "on", "a", "mat", "."] },
        { "\u2018Quoted\u2019 \u201ctext\u201d \u00abhere\u00bb", ["\u2018", "quoted", "\u2019", "\u201c", "text", "\u201d", "\u00ab", "here", "\u00bb"] },
        { "and/or a 3.5 inch screen *star*", ["and/or", "a", "3.5", "inch", "screen", "*", "star", "*"] },
        { "Dr. Smith's office", ["dr.", "smith", "'s", "office"] },
        { "He'd say I'm sure we'll go, you've seen they'd", ["he", "'d", "say", "i", "'m", "sure", "we", "'ll", "go", ",", "you", "'ve", "seen", "they", "'d"] },
        { "a man's 'special' hat", ["a", "man", "'s", "'special", "'", "hat"] },
        { "\"Hi.\" then a dog", ["``", "hi", ".", "''", "then", "a", "dog"] },
        { "There are 3. a dog [left] {right} <up>", ["there", "are", "3.", "a", "dog", "[", "left", "]", "{", "right", "}", "<", "up", ">"] },
    };

    [Theory]
    [MemberData(nameof(NltkCases))]
    public void Matches_nltk_word_tokenize_on_lower_cased_text(string text, string[] expected) =>
        Assert.Equal(expected, CaptionTokenizer.Default.Tokenize(text));

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n ")]
    public void Empty_text_has_no_tokens(string text) => Assert.Empty(CaptionTokenizer.Default.Tokenize(text));

    [Fact]
    public void Sentences_end_at_a_final_period_but_not_at_abbreviations_initials_or_numbers()
    {
        Assert.Equal(["a dog.", "a cat."], CaptionTokenizer.Sentences("a dog. a cat."));
        Assert.Equal(["mr. smith and dr. who at st. paul's."], CaptionTokenizer.Sentences("mr. smith and dr. who at st. paul's."));
        Assert.Equal(["j. smith has 3. dogs"], CaptionTokenizer.Sentences("j. smith has 3. dogs"));
        Assert.Equal(["he said \"hi.\"", "then left"], CaptionTokenizer.Sentences("he said \"hi.\" then left"));
        Assert.Equal(["wait... a dog"], CaptionTokenizer.Sentences("wait... a dog"));
    }

    [Fact]
    public void Lower_casing_can_be_turned_off()
    {
        var keepCase = new CaptionTokenizer { LowerCase = false };
        Assert.Equal(["A", "Red", "Circle", "."], keepCase.Tokenize("A Red Circle."));
    }
}
