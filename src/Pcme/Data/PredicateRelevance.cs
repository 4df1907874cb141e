namespace Pcme.Data;

/// <summary>
/// Exact relevance for synthetic data: caption c is relevant to image i exactly when c's predicate
/// holds on i's scene graph. Captions share few distinct predicates (hundreds for thousands of
/// captions), so each distinct predicate is evaluated once per image and stored as one row of flags;
/// memory is (distinct predicates x images) bytes, never (captions x images) pairs.
/// </summary>
public sealed class PredicateRelevance : IRelevance
{
    readonly int[] groupOfCaption;
    readonly bool[][] holds;          // [group][image]
    readonly int[][] imagesOfGroup;   // ascending
    readonly int[][] captionsOfGroup; // ascending

    /// <summary>Evaluates every distinct predicate of <paramref name="captionPredicates"/> on every scene.</summary>
    /// <param name="captionPredicates">Predicate of each caption, by caption index.</param>
    /// <param name="scenes">Scene of each image, by image index.</param>
    public PredicateRelevance(IReadOnlyList<CaptionPredicate> captionPredicates, IReadOnlyList<SyntheticScene> scenes)
    {
        var groups = new Dictionary<CaptionPredicate, int>();
        var captionsOf = new List<List<int>>();
        groupOfCaption = new int[captionPredicates.Count];
        for (int c = 0; c < captionPredicates.Count; c++)
        {
            if (!groups.TryGetValue(captionPredicates[c], out int g))
            {
                g = groups.Count;
                groups.Add(captionPredicates[c], g);
                captionsOf.Add([]);
            }
            groupOfCaption[c] = g;
            captionsOf[g].Add(c);
        }
        captionsOfGroup = captionsOf.Select(l => l.ToArray()).ToArray();
        holds = new bool[groups.Count][];
        imagesOfGroup = new int[groups.Count][];
        foreach (var (predicate, g) in groups)
        {
            holds[g] = new bool[scenes.Count];
            var images = new List<int>();
            for (int i = 0; i < scenes.Count; i++)
                if (holds[g][i] = predicate.Holds(scenes[i])) images.Add(i);
            imagesOfGroup[g] = images.ToArray();
        }
    }

    /// <summary>Number of distinct predicates among the captions.</summary>
    public int DistinctPredicates => holds.Length;

    /// <summary>Number of relevant (caption, image) pairs.</summary>
    public long RelevantPairs => captionsOfGroup.Select((captions, g) => (long)captions.Length * imagesOfGroup[g].Length).Sum();

    /// <inheritdoc />
    public bool IsRelevant(int caption, int image) => holds[groupOfCaption[caption]][image];

    /// <inheritdoc />
    public IReadOnlyList<int> ImagesFor(int caption) => imagesOfGroup[groupOfCaption[caption]];

    /// <summary>All captions relevant to an image, ascending; computed on each call (O(relevant captions)), not stored.</summary>
    public IReadOnlyList<int> CaptionsFor(int image)
    {
        var result = new List<int>();
        for (int g = 0; g < holds.Length; g++)
            if (holds[g][image]) result.AddRange(captionsOfGroup[g]);
        result.Sort();
        return result;
    }
}
